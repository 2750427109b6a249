using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.TestPlugin;

public sealed class ExportLikeConfig;

/// <summary>Reports Diffgram's Export completion event, as its template declares, so a step triggered by it runs next.</summary>
[ActionTemplate("test_export_like", "Export-like", "Succeeds and reports export_generate_success.",
    Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted], CompletionEvents = [EventKinds.ExportGenerateSuccess])]
public sealed class ExportLikeAction : ActionRunner<ExportLikeConfig>
{
    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<ExportLikeConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ActionResult.Success(new JsonObject { ["exported"] = true, ["file_id"] = context.Event.FileId }));
}

/// <summary>Starts on export_generate_success (the next step after an export), and records that it did.</summary>
[ActionTemplate("test_after_export", "After export", "Runs after an export step.", Triggers = [EventKinds.ExportGenerateSuccess])]
public sealed class AfterExportAction : ActionRunner<ExportLikeConfig>
{
    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<ExportLikeConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ActionResult.Success(new JsonObject { ["after"] = context.Event.Kind }));
}
