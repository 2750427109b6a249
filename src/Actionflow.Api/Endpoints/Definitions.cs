using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Actionflow.Sdk;
using Actionflow.Core.Scheduling;
using Actionflow.Storage.Stores;
using Actionflow.Core.Json;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Actionflow.Api.Endpoints;

/// <summary>Shared reads of steps (with secrets masked) and the trigger-index reload after a definitions change.</summary>
public sealed class Definitions(
    ConfigSchemas schemas, DefinitionsRefresher refresher, IOutboxSignal signal, RunnerRegistry runners, IServiceScopeFactory scopes, ILogger<Definitions> logger,
    Actionflow.Core.Secrets.SecretKeyRing secretKeys)
{
    // An event sent over HTTP reloads first unless the index is known current (DefinitionsWatch): requests in flight
    // together share one version read (and reload).
    private readonly CoalescedRead<bool, bool> _refreshes = new(_ => refresher.RefreshAsync(force: false, CancellationToken.None));

    public ConfigSchemas Schemas => schemas;

    /// <summary>
    /// Checks a step's config against its template: the JSON Schema (required fields only when <paramref name="complete"/>),
    /// then, when that passes, the runner's own rules (<see cref="Sdk.ActionRunner{TConfig}.ValidateConfig"/>): a config
    /// that can never work is refused when it is saved, not found out by every run.
    /// </summary>
    public void Validate(ActionTemplate template, JsonObject config, bool complete, FieldErrors errors, string prefix = "config_data")
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        schemas.For(template).Validate(config, complete, errors, prefix);
        if (errors.Count == before)
        {
            CheckRunnerRules(template.Kind, config, errors, prefix);
        }
    }

    /// <summary>
    /// The config as it is stored: its template's secret fields sealed (AES-GCM, bound to the project), so the database
    /// never holds them in clear. No key available (PostgreSQL without <c>Actionflow__SecretsKey</c>): a field error.
    /// </summary>
    public JsonObject Seal(ActionTemplate template, JsonObject config, long projectId, FieldErrors errors, string prefix = "config_data")
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(errors);
        var schema = schemas.For(template);
        try
        {
            return schema.SealSecrets(config, value =>
                Actionflow.Core.Secrets.SecretCipher.Seal(secretKeys.Current, value, Actionflow.Core.Secrets.SecretCipher.ConfigScope(projectId)));
        }
        catch (Actionflow.Core.Secrets.SecretUnavailableException ex)
        {
            foreach (var name in schema.Secrets.Concat(schema.SecretMaps).Where(config.ContainsKey))
            {
                errors.Add($"{prefix}.{name}", ex.Message);
            }

            return config;
        }
    }

    private void CheckRunnerRules(string kind, JsonObject config, FieldErrors errors, string prefix)
    {
        using var scope = scopes.CreateScope();
        // A kind no runner here declares (a plugin this process does not load) has only its schema checked.
        if (runners.Find(kind) is not { } descriptor)
        {
            return;
        }

        IReadOnlyList<ConfigProblem> problems;
        try
        {
            problems = RunnerRegistry.ValidateConfig(RunnerRegistry.Resolve(descriptor, scope.ServiceProvider), config, JsonDefaults.SnakeCase);
        }
        catch (JsonException ex)
        {
            errors.Add(prefix, "does not fit the template's config: " + ex.Message);
            return;
        }

        foreach (var problem in problems)
        {
            errors.Add($"{prefix}.{problem.Field}", problem.Message);
        }
    }

    /// <summary>The steps as responses show them: each config masked with its template's secrets.</summary>
    public async Task<List<ActionDto>> ToDtosAsync(ActionflowDbContext db, IReadOnlyCollection<WorkflowAction> actions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(actions);
        var kinds = actions.Select(a => a.Kind).Distinct().ToList();
        var templates = await db.ActionTemplates.AsNoTracking().Where(t => kinds.Contains(t.Kind)).ToDictionaryAsync(t => t.Kind, StringComparer.Ordinal, cancellationToken);
        return actions.Select(a => ToDto(a, templates.GetValueOrDefault(a.Kind))).ToList();
    }

    public ActionDto ToDto(WorkflowAction action, ActionTemplate? template)
    {
        ArgumentNullException.ThrowIfNull(action);
        // A kind that never had a runner has no template, so no field of it is known to be secret.
        var config = template is null ? (System.Text.Json.Nodes.JsonObject)action.ConfigData.DeepClone() : schemas.For(template).MaskSecrets(action.ConfigData);
        return ActionDto.From(action, config);
    }

    /// <summary>
    /// Saves a change to a workflow or its steps and, in the same transaction, brings the workflow's schedules in line
    /// with it (<see cref="ScheduleSync"/>); then reloads this process's trigger index and wakes its scheduler.
    /// </summary>
    public async Task SaveAsync(ActionflowDbContext db, long workflowId, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        bool rescheduled;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            await db.SaveChangesAsync(cancellationToken);
            rescheduled = await ScheduleSync.SyncAsync(db, workflowId, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        if (rescheduled)
        {
            signal.Notify(CronScheduler.Signal);
        }

        await ReadAsync(cancellationToken);
    }

    /// <summary>
    /// Brings this process's trigger index up to the definitions committed by now before an event is matched. No read
    /// when the index is known current: a change through this process counts itself when it commits, and one through
    /// another process is told by the database (PostgreSQL's notification, sent by the commit; until it arrives, which
    /// is normally within milliseconds, this process can still match against the previous definitions). While nothing
    /// follows the changes (PostgreSQL's listening connection lost), every call reads the version, as before.
    /// </summary>
    public Task RefreshAsync(CancellationToken cancellationToken) =>
        refresher.Watch.IsCurrent ? Task.CompletedTask : ReadAsync(cancellationToken);

    /// <summary>Reloads this process's trigger index now (cheap when nothing changed).</summary>
    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _refreshes.ReadAsync(true, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RefreshFailed(logger, ex);
        }
    }
}
