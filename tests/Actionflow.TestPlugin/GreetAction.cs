// A plugin action with a precondition, loaded through Actionflow__Plugins in the integration tests (samples/ has the documented one).
using System.Text.Json.Nodes;
using Actionflow.Sdk;
using Microsoft.Extensions.Logging;

namespace Actionflow.TestPlugin;

public sealed class GreetConfig
{
    public string Greeting { get; set; } = "Hello";
    [Secret] public string? ApiKey { get; set; }          // write-only, never echoed
}

[ActionTemplate("greet", "Greet", "Greets the uploaded file.",    // kind: unique, stored on each step
    Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted],
    Preconditions = ["has_file"])]                              // checked before each run, unless the step picks none
public sealed class GreetAction : ActionRunner<GreetConfig>
{
    // A careless log line on purpose: the integration tests check the engine masks a resolved secret in it.
    private static readonly Action<ILogger, string, Exception?> Greeting =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(1, "Greeting"), "Greeting with {Greeting}");

    public override ValueTask<PreconditionResult> CheckPreconditionAsync(string precondition, ActionContext<GreetConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Event.FileId is null ? PreconditionResult.NotMet("the event names no file") : PreconditionResult.Met);

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<GreetConfig> context, CancellationToken cancellationToken)
    {
        Greeting(context.Logger, context.Config.Greeting, null);
        // context.Run.Id is the same on every attempt of this run: use it as an idempotency key for side effects.
        var output = new JsonObject { ["message"] = $"{context.Config.Greeting}, file {context.Event.FileId}", ["file_id"] = context.Event.FileId };
        return ValueTask.FromResult(ActionResult.Success(output));  // or ActionResult.Failure("why"); exceptions are retried, then fail the run
    }
}
