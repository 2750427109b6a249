using System.Runtime.CompilerServices;
using System.Text.Json;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Core.Secrets;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <summary>
/// Runs a step's runner once: finds it by kind, reads its config, builds its context, checks the precondition the step
/// chose among those its template declares, executes it, and classifies what happened (<see cref="OutcomeClassifier"/>).
/// Secrets are opened here and nowhere else: sealed <c>[Secret]</c> fields and <c>{{ secrets.NAME }}</c> references in the
/// config become values for this execution only, and any of them the runner echoes is redacted from the outcome.
/// </summary>
public sealed class StepInvoker(
    RunnerRegistry registry, IServiceScopeFactory scopes, ILoggerFactory loggerFactory, SecretKeyRing? secretKeys = null, ISecretSource? secretSource = null)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<StepInvoker>();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _runnerLoggers = new(StringComparer.Ordinal);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StepOutcome> InvokeAsync(WorkflowAction action, Event ev, ActionRun run, CancellationToken cancellationToken)
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
        // Shared and never added to: a list of its own is made only for a config that has secrets to open.
        var revealed = NoneRevealed;
        var configData = action.ConfigData;
        if (ConfigSecrets.Mentions(configData))
        {
            revealed = [];
            if (secretKeys is null || secretSource is null)
            {
                return StepOutcome.InvalidConfig("config_data holds secrets, and this process has no secrets store to open them");
            }

            try
            {
                configData = await ConfigSecrets.ResolveAsync(action.ProjectId, configData, secretKeys, secretSource, revealed, cancellationToken);
            }
            catch (SecretUnavailableException ex)
            {
                return StepOutcome.InvalidConfig("a secret cannot be opened: " + ex.Message);
            }
        }

        object config;
        try
        {
            config = runner.ReadConfig(configData, JsonDefaults.SnakeCase);
        }
        catch (JsonException ex)
        {
            return StepOutcome.InvalidConfig(SecretRedactor.Redact($"config_data does not fit the '{action.Kind}' template: {ex.Message}", revealed)!);
        }

        var logger = _runnerLoggers.GetOrAdd(action.Kind, static (kind, factory) => factory.CreateLogger("Actionflow.Actions." + kind), loggerFactory);
        if (revealed.Count > 0)
        {
            // What an action logs about its config must not carry what the config's references resolved to.
            logger = new RedactingLogger(logger, revealed);
        }

        using var logScope = logger.BeginScope(new RunLogScope(run.Id, action.Id, ev.Id));
        var context = runner.CreateContext(new ActionInvocation(Info(action), ToActionEvent(ev), new RunInfo(run.Id, run.WorkflowRunId, run.Attempt), logger, scope.ServiceProvider), config);
        try
        {
            if (precondition is not null)
            {
                var met = await runner.CheckAsync(precondition, context, cancellationToken);
                if (!met.IsMet)
                {
                    return Redacted(OutcomeClassifier.FromPrecondition(met), revealed);
                }
            }

            var result = await runner.RunAsync(context, cancellationToken);
            return Redacted(OutcomeClassifier.FromResult(result, policy, declared), revealed);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (revealed.Count > 0)
            {
                // The exception's message could quote a secret it was handed: log its type and the redacted message only.
                Log.RunnerThrewRedacted(_logger, run.Id, ex.GetType().FullName ?? ex.GetType().Name, SecretRedactor.Redact(ex.Message, revealed) ?? "");
            }
            else
            {
                Log.RunnerThrew(_logger, run.Id, ex);
            }

            return Redacted(OutcomeClassifier.FromException(ex, policy, declared), revealed);
        }
    }

    private static readonly List<string> NoneRevealed = [];

    private static StepOutcome Redacted(StepOutcome outcome, List<string> revealed) =>
        revealed.Count == 0 ? outcome : outcome with { Output = SecretRedactor.Redact(outcome.Output, revealed), Reason = SecretRedactor.Redact(outcome.Reason, revealed) };

    private static ActionInfo Info(WorkflowAction action) =>
        ActionInfo.CopiedOnRead(action.Id, action.ProjectId, action.WorkflowId, action.Kind, action.PublicName, action.Ordinal, action.TriggerData, action.Precondition);

    /// <summary>The event as a runner sees it; <paramref name="payload"/> replaces its Diffgram-shaped message when given.</summary>
    /// <remarks>The message and the metadata are copied from <paramref name="ev"/> when the runner first reads them.</remarks>
    public static ActionEvent ToActionEvent(Event ev, System.Text.Json.Nodes.JsonObject? payload = null) =>
        new(ev.Id, ev.Kind, ev.ProjectId, payload is null ? ev : (ev, payload),
            payload is null ? static source => DiffgramEventCodec.ToDiffgramJson((Event)source) : static source => (((Event, System.Text.Json.Nodes.JsonObject))source).Item2,
            static source => (System.Text.Json.Nodes.JsonObject)(source as Event ?? (((Event, System.Text.Json.Nodes.JsonObject))source).Item1).ExtraMetadata.DeepClone())
        {
            WorkflowId = ev.WorkflowId,
            ActionId = ev.ActionId,
            FileId = ev.FileId,
            TaskId = ev.TaskId,
            JobId = ev.JobId,
            DirectoryId = ev.DirectoryId,
            InputId = ev.InputId,
            MemberId = ev.MemberId,
            TimeCreated = ev.TimeCreated,
        };
}

/// <summary>
/// The scope of a runner's log lines: <c>RunId</c>, <c>ActionId</c>, <c>EventId</c> as structured values. One object per
/// run; its values are boxed only when a provider that records scopes reads them.
/// </summary>
internal sealed class RunLogScope(long runId, long actionId, long eventId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("RunId", runId),
        1 => new("ActionId", actionId),
        2 => new("EventId", eventId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"RunId:{runId} ActionId:{actionId} EventId:{eventId}");
}
