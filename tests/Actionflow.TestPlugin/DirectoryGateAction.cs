using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.TestPlugin;

public sealed class DirectoryGateConfig
{
    public long RequiredDirectoryId { get; set; }
}

/// <summary>Runs only for events of one directory: its precondition says no otherwise.</summary>
public sealed class DirectoryGateAction : ActionRunner<DirectoryGateConfig>
{
    public override string Kind => "test_directory_gate";
    public override string PublicName => "Directory gate";
    public override string Description => "Succeeds for events of the configured directory; skipped for others.";
    public override ActionTrigger Trigger => new(EventKinds.InputFileUploaded, EventKinds.InputFileUploaded, EventKinds.ActionCompleted);

    public override ValueTask<PreconditionResult> CheckPreconditionsAsync(ActionContext<DirectoryGateConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Event.DirectoryId == context.Config.RequiredDirectoryId
            ? PreconditionResult.Met
            : PreconditionResult.NotMet($"directory {context.Event.DirectoryId} is not {context.Config.RequiredDirectoryId}"));

    public override Task<ActionResult> ExecuteAsync(ActionContext<DirectoryGateConfig> context, CancellationToken cancellationToken) =>
        Task.FromResult(ActionResult.Success(new JsonObject { ["gate"] = "passed", ["directory_id"] = context.Event.DirectoryId }));
}
