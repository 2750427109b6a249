using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.Actions.Noop;

public sealed class NoopConfig;

/// <summary>Does nothing and succeeds at once: for tests, benchmarks and wiring checks.</summary>
public sealed class NoopAction : ActionRunner<NoopConfig>
{
    public const string KindName = "noop";

    public override string Kind => KindName;

    public override string PublicName => "No-op";

    public override string Description => "Does nothing and succeeds at once. Useful to try a workflow's wiring.";

    public override string? Category => "utility";

    public override ActionTrigger Trigger { get; } = new(
        EventKinds.InputFileUploaded,
        [.. EventKinds.TaskAndFileEvents, EventKinds.ActionCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger]);

    public override Task<ActionResult> ExecuteAsync(ActionContext<NoopConfig> context, CancellationToken cancellationToken) =>
        Task.FromResult(ActionResult.Success(new JsonObject { ["noop"] = true }));
}
