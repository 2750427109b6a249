using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.Actions.Noop;

public sealed class NoopConfig;

/// <summary>Does nothing and succeeds at once: for tests, benchmarks and wiring checks.</summary>
[ActionTemplate(KindName, "No-op", "Does nothing and succeeds at once. Useful to try a workflow's wiring.", Category = "utility",
    Triggers =
    [
        EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart, EventKinds.TaskRequestChanges,
        EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated, EventKinds.TaskTemplateCompleted, EventKinds.FileCopy,
        EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ActionCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger,
    ])]
public sealed class NoopAction : ActionRunner<NoopConfig>
{
    public const string KindName = "noop";

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<NoopConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ActionResult.Success(new JsonObject { ["noop"] = true }));
}
