using System.Text.Json.Nodes;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Samples.Greeting.Tests;

public sealed class GreetingActionTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    private static ActionTester<GreetingAction> Tester() => new(services => services.AddSingleton<TimeProvider>(Clock));

    [Fact]
    public async Task RunAsync_UploadedFile_GreetsItAndReportsGreeted()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new GreetingConfig { Greeting = "Hi" }, new TestEvent { FileId = 11 });

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("Hi, file 11", (string?)result.Output["message"]);
        Assert.Equal("2026-11-27T12:00:00.0000000+00:00", (string?)result.Output["greeted_at"]);
        Assert.Equal(GreetingAction.Greeted, result.CompletionEvent);
    }

    [Fact]
    public async Task RunAsync_EventWithoutFile_SkippedByThePrecondition()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new GreetingConfig(), new TestEvent { Kind = EventKinds.ActionCompleted });

        Assert.True(result.Skipped);
        Assert.Equal("precondition not met: the event names no file", result.FailureReason);
        Assert.Null(result.Emitted);
    }

    [Fact]
    public async Task RunAsync_StepPicksActionCompleted_EmitsActionCompleted()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new GreetingConfig(), new TestEvent { FileId = 3 },
            new TestStep { CompletionConditionData = new JsonObject { ["event_name"] = EventKinds.ActionCompleted } });

        Assert.Equal(EventKinds.ActionCompleted, result.CompletionEvent);
    }

    [Fact]
    public async Task RunAsync_ConfigDataAsStored_IsReadFromSnakeCaseKeys()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["greeting"] = "Bonjour", ["api_key"] = "k" }, new TestEvent { FileId = 4 });

        Assert.Equal("Bonjour, file 4", (string?)result.Output["message"]);
    }

    [Fact]
    public void Template_AsPublished_ListsTheDeclaredEventsAndASecretField()
    {
        var template = new ActionTester<GreetingAction>().Template;

        Assert.Equal(("sample_greeting", "has_file", "greeted"),
            (template.Kind, (string?)template.ConditionData["default_event_name"], (string?)template.CompletionConditionData["default_event_name"]));
        Assert.True((bool?)template.ConfigSchema["properties"]!["api_key"]!["writeOnly"]);
        Assert.Equal(["greeting"], template.ConfigSchema["required"]!.AsArray().Select(n => (string)n!));
    }
}
