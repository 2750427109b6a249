using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Tests;

internal static class TestHelpers
{
    public const long ActionId = 7;
    public const long WorkflowId = 3;
    public const long RunId = 42;
    public const long TriggeringActionId = 99;

    public static ServiceProvider CreateServices(bool allowPrivateNetworks)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Actionflow:Webhooks:AllowPrivateNetworks"] = allowPrivateNetworks ? "true" : "false",
            })
            .Build();
        return new ServiceCollection().AddBuiltInActions(configuration).BuildServiceProvider();
    }

    public static JsonObject DiffgramEvent() => new()
    {
        ["id"] = 1234,
        ["kind"] = "action_completed",
        ["project_id"] = 1,
        ["workflow_id"] = WorkflowId,
        ["action_id"] = TriggeringActionId,
        ["file_id"] = 55,
        ["task_id"] = null,
        ["member_id"] = 8,
        ["description"] = "a <b> & \"quoted\" é",
        ["extra_metadata"] = new JsonObject { ["previous"] = new JsonArray(1, 2, 3) },
        ["unknown_key"] = "kept",
    };

    public static ActionContext<TConfig> Context<TConfig>(TConfig config, ILogger? logger = null, long runId = RunId, int attempt = 1)
        where TConfig : class =>
        ActionTestContext.For(
            config,
            new TestEvent
            {
                Id = 1234, Kind = EventKinds.ActionCompleted, ProjectId = 1, WorkflowId = WorkflowId, ActionId = TriggeringActionId, FileId = 55, MemberId = 8,
                Payload = DiffgramEvent(),
            },
            new TestStep { Id = ActionId, WorkflowId = WorkflowId, Ordinal = 1, RunId = runId, WorkflowRunId = 5, Attempt = attempt },
            logger ?? new RecordingLogger(),
            kind: "Webhook");

    public static WebhookAction Webhook(this ServiceProvider services) => services.GetRequiredService<WebhookAction>();
}

/// <summary>Keeps every formatted log line and exception, to assert on what logs would contain.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        _lines.Enqueue($"{logLevel} {eventId.Id} {formatter(state, exception)} {exception}");
        if (state is IEnumerable<KeyValuePair<string, object?>> values)
        {
            foreach (var (key, value) in values)
            {
                _lines.Enqueue($"  {key}={value}");
            }
        }
    }
}
