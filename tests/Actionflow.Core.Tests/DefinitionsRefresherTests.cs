using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Tests;

public sealed class DefinitionsRefresherTests
{
    private sealed class Source(int workflows) : IDefinitionSource
    {
        public long Version { get; set; } = 1;

        public Task<DefinitionsStamp> GetStampAsync(CancellationToken cancellationToken) => Task.FromResult(new DefinitionsStamp(Version, Version));

        public Task<IReadOnlyList<TriggerDefinition>> LoadTriggersAsync(CancellationToken cancellationToken)
        {
            var triggerData = new JsonObject { ["event_name"] = "input_file_uploaded" };
            IReadOnlyList<TriggerDefinition> triggers =
            [
                .. Enumerable.Range(1, workflows).Select(id => new TriggerDefinition(id, id % 100, id, "noop", 0, "input_file_uploaded", triggerData, [], null)
                {
                    Snapshot = new ActionSnapshot(new WorkflowAction { Id = id, ProjectId = id % 100, WorkflowId = id, Kind = "noop", TriggerData = triggerData }, true, false, null, false),
                }),
            ];
            return Task.FromResult(triggers);
        }

        public Task<DefinitionChanges?> LoadChangesAsync(long sinceVersion, int maxWorkflows, CancellationToken cancellationToken) =>
            Task.FromResult<DefinitionChanges?>(null);
    }

    private sealed class Capture : ILogger
    {
        public List<EventId> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Events)
            {
                Events.Add(eventId);
            }
        }
    }

    private sealed class Logger<T>(Capture capture) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture.Log(logLevel, eventId, state, exception, formatter);
    }

    [Fact]
    public async Task RefreshAsync_LargeFirstLoadThenFullReload_CompactsOnlyBeforeMatchingStarts()
    {
        var source = new Source(DefinitionsRefresher.LargeSnapshot);
        var capture = new Capture();
        var index = new TriggerIndex();
        var refresher = new DefinitionsRefresher(index, source, Options.Create(new EngineOptions()), TimeProvider.System, new Logger<DefinitionsRefresher>(capture));

        Assert.True(await refresher.RefreshAsync(force: true, default));
        Assert.Equal([1001, 1004], capture.Events.Select(e => e.Id));
        Assert.Equal(DefinitionsRefresher.LargeSnapshot, index.Count);

        source.Version = 2;
        Assert.True(await refresher.RefreshAsync(force: false, default));

        Assert.Equal([1001, 1004, 1001], capture.Events.Select(e => e.Id));
        Assert.Equal(2, index.Version);
        Assert.Equal(DefinitionsRefresher.LargeSnapshot / 100, index.MatchSteps(new Event { ExtraMetadata = [], Payload = [], ProjectId = 7, Kind = "input_file_uploaded" }).Count);
    }

    [Fact]
    public async Task RefreshAsync_SmallFirstLoad_NoCollection()
    {
        var capture = new Capture();
        var refresher = new DefinitionsRefresher(new TriggerIndex(), new Source(10), Options.Create(new EngineOptions()), TimeProvider.System, new Logger<DefinitionsRefresher>(capture));

        Assert.True(await refresher.RefreshAsync(force: true, default));

        Assert.Equal([1001], capture.Events.Select(e => e.Id));
    }
}
