using System.Text.Json;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <summary>
/// Runs a step's runner once: finds it by kind, reads its config, builds its context, checks the precondition the step
/// chose among those its template declares, executes it, and classifies what happened (<see cref="OutcomeClassifier"/>).
/// </summary>
public sealed class StepInvoker(RunnerRegistry registry, IServiceScopeFactory scopes, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<StepInvoker>();

    public async Task<StepOutcome> InvokeAsync(WorkflowAction action, Event ev, ActionRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(run);
        var declared = registry.Find(action.Kind);
        if (declared is null)
        {
            return StepOutcome.Fail($"no runner is registered for kind '{action.Kind}' (its template is unavailable)", ErrorTypes.UnknownActionKind);
        }

        if (run.WaitedUntil is not null)
        {
            return OutcomeClassifier.Resumed(run, declared);
        }

        RetryPolicy policy;
        try
        {
            policy = RetryPolicies.For(action, declared);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            return StepOutcome.InvalidConfig("retry_policy is invalid: " + ex.Message);
        }

        var precondition = StepDeclarations.PreconditionOf(action.Precondition, declared, out var refusal);
        if (refusal is not null)
        {
            return StepOutcome.InvalidConfig(refusal);
        }

        await using var scope = scopes.CreateAsyncScope();
        var runner = RunnerRegistry.Resolve(declared, scope.ServiceProvider);
        object config;
        try
        {
            config = runner.ReadConfig(action.ConfigData, JsonDefaults.SnakeCase);
        }
        catch (JsonException ex)
        {
            return StepOutcome.InvalidConfig($"config_data does not fit the '{action.Kind}' template: {ex.Message}");
        }

        var logger = loggerFactory.CreateLogger("Actionflow.Actions." + action.Kind);
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["RunId"] = run.Id, ["ActionId"] = action.Id, ["EventId"] = ev.Id });
        var context = runner.CreateContext(new ActionInvocation(Info(action), ToActionEvent(ev), new RunInfo(run.Id, run.WorkflowRunId, run.Attempt), logger, scope.ServiceProvider), config);
        try
        {
            if (precondition is not null)
            {
                var met = await runner.CheckAsync(precondition, context, cancellationToken);
                if (!met.IsMet)
                {
                    return OutcomeClassifier.FromPrecondition(met);
                }
            }

            var result = await runner.RunAsync(context, cancellationToken);
            return OutcomeClassifier.FromResult(result, policy, declared);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.RunnerThrew(_logger, run.Id, ex);
            return OutcomeClassifier.FromException(ex, policy, declared);
        }
    }

    private static ActionInfo Info(WorkflowAction action) => new(action.Id, action.ProjectId, action.WorkflowId, action.Kind, action.PublicName, action.Ordinal,
        (System.Text.Json.Nodes.JsonObject)action.TriggerData.DeepClone(), (System.Text.Json.Nodes.JsonObject)action.Precondition.DeepClone());

    /// <summary>The event as a runner sees it; <paramref name="payload"/> replaces its Diffgram-shaped message when given.</summary>
    public static ActionEvent ToActionEvent(Event ev, System.Text.Json.Nodes.JsonObject? payload = null) => new()
    {
        Id = ev.Id,
        Kind = ev.Kind,
        ProjectId = ev.ProjectId,
        WorkflowId = ev.WorkflowId,
        ActionId = ev.ActionId,
        FileId = ev.FileId,
        TaskId = ev.TaskId,
        JobId = ev.JobId,
        DirectoryId = ev.DirectoryId,
        InputId = ev.InputId,
        MemberId = ev.MemberId,
        ExtraMetadata = (System.Text.Json.Nodes.JsonObject)ev.ExtraMetadata.DeepClone(),
        TimeCreated = ev.TimeCreated,
        Payload = payload ?? DiffgramEventCodec.ToDiffgramJson(ev),
    };
}
