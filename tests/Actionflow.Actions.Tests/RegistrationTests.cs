using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Actions.Noop;
using Actionflow.Actions.Webhook;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public void AddBuiltInActions_Default_RegistersEveryRunnerOnce()
    {
        using var services = new ServiceCollection().AddBuiltInActions().AddBuiltInActions().BuildServiceProvider();

        var registrations = services.GetServices<ActionRunnerRegistration>().Select(r => r.RunnerType).ToArray();

        Assert.Equal([typeof(NoopAction), typeof(WebhookAction)], registrations);
        var kinds = registrations.Select(t => ((ActionRunner)services.GetRequiredService(t)).Kind).ToArray();
        Assert.Equal(["noop", "Webhook"], kinds);
        Assert.False(services.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks);
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
    public void AddActionRunner_CustomRunner_IsResolvableAndAnnounced()
    {
        using var services = new ServiceCollection().AddActionRunner<NoopAction>().BuildServiceProvider();

        Assert.Equal(typeof(NoopAction), Assert.Single(services.GetServices<ActionRunnerRegistration>()).RunnerType);
        Assert.NotSame(services.GetRequiredService<NoopAction>(), services.GetRequiredService<NoopAction>());
    }

    [Fact]
    public void ReadConfig_SnakeCaseConfigData_FillsWebhookConfig()
    {
        using var services = new ServiceCollection().AddBuiltInActions().BuildServiceProvider();
        var runner = services.GetRequiredService<WebhookAction>();
        var configData = JsonDocument.Parse("""
            {"url": "https://example.com/hook", "headers": {"X-Api-Key": "k"}, "secret": "s", "timeout_seconds": 30}
            """).RootElement;

        var config = Assert.IsType<WebhookConfig>(runner.ReadConfig(configData, JsonDefaults.SnakeCase));

        Assert.Equal("https://example.com/hook", config.Url);
        Assert.Equal("k", config.Headers!["X-Api-Key"]);
        Assert.Equal("s", config.Secret);
        Assert.Equal(30, config.TimeoutSeconds);
    }

    [Fact]
    public void ReadConfig_EmptyConfigData_UsesDefaults()
    {
        var runner = new WebhookAction(null!, TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new WebhookOptions()));

        var config = Assert.IsType<WebhookConfig>(runner.ReadConfig(JsonDocument.Parse("{}").RootElement, JsonDefaults.SnakeCase));

        Assert.Equal(10, config.TimeoutSeconds);
        Assert.Null(config.Secret);
    }

    [Fact]
    public void WebhookConfig_Secret_IsMarkedSecret()
    {
        Assert.NotNull(typeof(WebhookConfig).GetProperty(nameof(WebhookConfig.Secret))!.GetCustomAttributes(typeof(SecretAttribute), false).SingleOrDefault());
    }

    [Fact]
    public void WebhookAction_Template_MatchesDiffgramsWebhook()
    {
        var runner = new WebhookAction(null!, TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new WebhookOptions()));

        Assert.Equal("Webhook", runner.Kind);
        Assert.Equal("Webhook", runner.PublicName);
        Assert.Equal(EventKinds.InputFileUploaded, runner.Trigger.DefaultEventName);
        Assert.Equal([.. EventKinds.TaskAndFileEvents, EventKinds.ActionCompleted], runner.Trigger.Events);
        Assert.Equal(EventKinds.ActionCompleted, runner.Completion.DefaultEventName);
        Assert.Equal(typeof(WebhookConfig), runner.ConfigType);
    }

    [Fact]
    public async Task NoopAction_ExecuteAsync_SucceedsWithNoopOutput()
    {
        var runner = new NoopAction();

        var result = await runner.ExecuteAsync(TestHelpers.Context(new NoopConfig()), CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["noop"] = true }, result.Output));
        Assert.Equal(EventKinds.InputFileUploaded, runner.Trigger.DefaultEventName);
        Assert.Equal(
            [.. EventKinds.TaskAndFileEvents, EventKinds.ActionCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger],
            runner.Trigger.Events);
    }
}
