using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Samples.Greeting;

/// <summary>The step's <c>config_data</c>: its keys are these properties in snake_case; the template publishes their JSON Schema.</summary>
public sealed class GreetingConfig
{
    [Required, Description("What to say before the file id.")]
    public string Greeting { get; set; } = "Hello";

    /// <summary>Write-only through the API, never echoed or logged.</summary>
    [Secret]
    public string? ApiKey { get; set; }
}

/// <summary>Greets the file of the event that started it, and reports <c>greeted</c> so a step triggered by it runs next.</summary>
[ActionTemplate("sample_greeting", "Greeting", "Greets the uploaded file.",
    Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted],
    Preconditions = [HasFile],
    CompletionEvents = [Greeted, EventKinds.ActionCompleted],
    MaxAttempts = 5)]
public sealed class GreetingAction(TimeProvider time) : ActionRunner<GreetingConfig>
{
    public const string HasFile = "has_file";
    public const string Greeted = "greeted";

    public override ValueTask<PreconditionResult> CheckPreconditionAsync(string precondition, ActionContext<GreetingConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Event.FileId is null ? PreconditionResult.NotMet("the event names no file") : PreconditionResult.Met);

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<GreetingConfig> context, CancellationToken cancellationToken)
    {
        // context.Run.Id is the same on every attempt of this run: use it as an idempotency key for side effects.
        var output = new JsonObject
        {
            ["message"] = $"{context.Config.Greeting}, file {context.Event.FileId}",
            ["file_id"] = context.Event.FileId,
            ["greeted_at"] = time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        // Success emits the step's completion event (here `greeted` by default); Failure("why") is final;
        // RetryableFailure("why") and exceptions are tried again, up to MaxAttempts.
        return ValueTask.FromResult(ActionResult.Success(output));
    }
}

public static class GreetingServiceCollectionExtensions
{
    /// <summary>Registers the sample action in a host that composes Actionflow in code.</summary>
    public static IServiceCollection AddGreetingAction(this IServiceCollection services) => services.AddActionRunner<GreetingAction>();
}
