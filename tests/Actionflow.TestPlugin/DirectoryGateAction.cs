using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.TestPlugin;

public sealed class DirectoryGateConfig
{
    public long RequiredDirectoryId { get; set; }
}

/// <summary>Runs only for events of one directory: its precondition says no otherwise.</summary>
[ActionTemplate("test_directory_gate", "Directory gate", "Succeeds for events of the configured directory; skipped for others.",
    Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted], Preconditions = [InDirectory])]
public sealed class DirectoryGateAction : ActionRunner<DirectoryGateConfig>
{
    public const string InDirectory = "in_directory";

    public override ValueTask<PreconditionResult> CheckPreconditionAsync(string precondition, ActionContext<DirectoryGateConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Event.DirectoryId == context.Config.RequiredDirectoryId
            ? PreconditionResult.Met
            : PreconditionResult.NotMet($"directory {context.Event.DirectoryId} is not {context.Config.RequiredDirectoryId}"));

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<DirectoryGateConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ActionResult.Success(new JsonObject { ["gate"] = "passed", ["directory_id"] = context.Event.DirectoryId }));
}
