using System.Text.Json.Nodes;
using Actionflow.Actions.Delay;
using Actionflow.Actions.Noop;
using Actionflow.Actions.Webhook;
using Actionflow.Core.Engine;
using Actionflow.Core.Domain;
using Actionflow.Sdk.Testing;
using Actionflow.Sdk;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Tests;

public sealed class RegistrationTests
{
    private static readonly string[] TaskAndFileEvents =
    [
        EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart, EventKinds.TaskRequestChanges,
        EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated, EventKinds.TaskTemplateCompleted, EventKinds.FileCopy,
        EventKinds.FileMove, EventKinds.FileMirror,
    ];

    [Fact]
    public void AddBuiltInActions_Default_RegistersEveryRunnerOnce()
    {
        var services = new ServiceCollection().AddBuiltInActions().AddBuiltInActions();
        services.AddActionflowEngine();
        using var provider = services.BuildServiceProvider();

        var registry = provider.GetRequiredService<RunnerRegistry>();

        Assert.Equal(["noop", "Webhook", "delay", "http_request", "transform", "email", "hf_zero_shot", "azure_sentiment", "export"], registry.Templates.Select(t => t.Kind));
        Assert.Equal(3, services.Count(d => d.ServiceType == typeof(WebhookAction) || d.ServiceType == typeof(NoopAction) || d.ServiceType == typeof(DelayAction)));
        Assert.False(provider.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks);
    }

    [Fact]
    public void AddBuiltInActions_Configuration_BindsAllowPrivateNetworks()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Actionflow:Webhooks:AllowPrivateNetworks"] = "true" })
            .Build();

        using var services = new ServiceCollection().AddBuiltInActions(configuration).BuildServiceProvider();

        Assert.True(services.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks);
    }

    [Fact]
    public void AddActionRunner_CustomRunner_IsResolvedAnewForEachRun()
    {
        using var services = new ServiceCollection().AddActionRunner<NoopAction>().BuildServiceProvider();

        Assert.NotSame(services.GetRequiredService<NoopAction>(), services.GetRequiredService<NoopAction>());
    }

    [Fact]
    public async Task RunAsync_SnakeCaseConfigData_ReachesTheWebhookAsItsConfig()
    {
        // An unroutable URL answers fast: what matters is that the step's config_data was read into WebhookConfig.
        await using var tester = new ActionTester<WebhookAction>(s => s.AddBuiltInActions());

        var result = await tester.RunAsync(JsonNode.Parse("""
            {"url": "ftp://example.com/hook", "headers": {"X-Api-Key": "k"}, "secret": "s", "timeout_seconds": 30}
            """)!.AsObject());

        // The reason names the url field without echoing it (URLs may carry tokens); an unread url would not fail this way.
        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Equal("url must be an absolute http or https URL", result.FailureReason);
    }

    [Fact]
    public async Task RunAsync_ConfigDataOfTheWrongShape_FailsAsInvalidConfigWithoutRunning()
    {
        await using var tester = new ActionTester<WebhookAction>(s => s.AddBuiltInActions());

        var result = await tester.RunAsync(new JsonObject { ["timeout_seconds"] = "thirty" });

        Assert.Equal((ActionRunStatus.Failed, "InvalidConfig"), (result.Status, result.ErrorType));
        Assert.Contains("config_data does not fit the 'Webhook' template", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void WebhookConfig_Secret_IsMarkedSecret()
    {
        Assert.NotNull(typeof(WebhookConfig).GetProperty(nameof(WebhookConfig.Secret))!.GetCustomAttributes(typeof(SecretAttribute), false).SingleOrDefault());
    }

    [Fact]
    public void WebhookAction_Template_MatchesDiffgramsWebhook()
    {
        var declared = ActionDescriptor.Of(typeof(WebhookAction));

        Assert.Equal(("Webhook", "Webhook"), (declared.Kind, declared.PublicName));
        Assert.Equal([.. TaskAndFileEvents, EventKinds.ActionCompleted, EventKinds.TimeTrigger], declared.Triggers);
        Assert.Equal([EventKinds.ActionCompleted], declared.CompletionEvents);
        Assert.Empty(declared.Preconditions);
        Assert.Equal(typeof(WebhookConfig), declared.ConfigType);
    }

    [Fact]
    public async Task NoopAction_RunAsync_SucceedsWithNoopOutputAndEmitsActionCompleted()
    {
        await using var tester = new ActionTester<NoopAction>();

        var result = await tester.RunAsync(new NoopConfig());

        Assert.True(result.Succeeded);
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["noop"] = true }, result.Output));
        Assert.Equal(EventKinds.ActionCompleted, result.CompletionEvent);
        Assert.Equal([.. TaskAndFileEvents, EventKinds.ActionCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger], ActionDescriptor.Of(typeof(NoopAction)).Triggers);
    }

    [Fact]
    public void BuiltInActions_ThatCanStartAWorkflow_AllListTimeTrigger()
    {
        var services = new ServiceCollection().AddBuiltInActions();
        services.AddActionflowEngine();
        using var provider = services.BuildServiceProvider();

        // A template that a first step can use (any trigger other than a previous step's completion) can be scheduled.
        var starters = provider.GetRequiredService<RunnerRegistry>().Templates
            .Select(t => (t.Kind, Events: ((JsonArray)t.TriggerData["event_list"]!).Select(e => (string)e!["value"]!).ToList()))
            .Where(t => t.Events.Any(e => e is not EventKinds.ActionCompleted and not EventKinds.ActionFailed))
            .ToList();

        // Every one, those added later included: an action that can start a workflow can be scheduled.
        Assert.Superset(new HashSet<string> { "noop", "Webhook", "delay" }, starters.Select(t => t.Kind).ToHashSet());
        Assert.All(starters, t => Assert.Contains(EventKinds.TimeTrigger, t.Events));
    }
}
