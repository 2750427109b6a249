// The custom action shown in README.md, kept here so it compiles and runs in the integration tests.
using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.TestPlugin;

public sealed class GreetConfig
{
    public string Greeting { get; set; } = "Hello";
    [Secret] public string? ApiKey { get; set; }          // write-only, never echoed
}

public sealed class GreetAction : ActionRunner<GreetConfig>
{
    public override string Kind => "greet";                // unique; stored on each step
    public override string PublicName => "Greet";
    public override string Description => "Greets the uploaded file.";
    public override ActionTrigger Trigger => new(EventKinds.InputFileUploaded, EventKinds.InputFileUploaded, EventKinds.ActionCompleted);

    public override ValueTask<PreconditionResult> CheckPreconditionsAsync(ActionContext<GreetConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Event.FileId is null ? PreconditionResult.NotMet("the event names no file") : PreconditionResult.Met);

    public override Task<ActionResult> ExecuteAsync(ActionContext<GreetConfig> context, CancellationToken cancellationToken)
    {
        // context.Run.Id is the same on every attempt of this run: use it as an idempotency key for side effects.
        var output = new JsonObject { ["message"] = $"{context.Config.Greeting}, file {context.Event.FileId}", ["file_id"] = context.Event.FileId };
        return Task.FromResult(ActionResult.Success(output));  // or ActionResult.Failure("why"); exceptions fail the run too
    }
}
