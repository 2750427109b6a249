using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Tests;

/// <summary>When an event may skip the definitions version read: only while changes are followed and none is pending.</summary>
public sealed class DefinitionsWatchTests
{
    private sealed class Source : IDefinitionSource
    {
        public long Version { get; set; } = 1;

        public int Reads { get; private set; }

        public Task<DefinitionsStamp> GetStampAsync(CancellationToken cancellationToken)
        {
            Reads++;
            return Task.FromResult(new DefinitionsStamp(Version, Version));
        }

        public Task<IReadOnlyList<TriggerDefinition>> LoadTriggersAsync(CancellationToken cancellationToken)
        {
            var triggerData = new JsonObject { ["event_name"] = "v" + Version };
            IReadOnlyList<TriggerDefinition> triggers = [new TriggerDefinition(1, 1, 1, "noop", 0, "v" + Version, triggerData, [], null)];
            return Task.FromResult(triggers);
        }

        public Task<DefinitionChanges?> LoadChangesAsync(long sinceVersion, int maxWorkflows, CancellationToken cancellationToken) =>
            Task.FromResult<DefinitionChanges?>(null);
    }

    private static DefinitionsRefresher Refresher(TriggerIndex index, Source source, DefinitionsWatch watch) =>
        new(index, source, Options.Create(new EngineOptions()), TimeProvider.System, NullLogger<DefinitionsRefresher>.Instance, watch);

    [Fact]
    public async Task IsCurrent_NothingFollows_NeverEvenRightAfterARefresh()
    {
        var watch = new DefinitionsWatch();
        await Refresher(new TriggerIndex(), new Source(), watch).RefreshAsync(force: true, default);

        Assert.False(watch.IsCurrent);
    }

    [Fact]
    public async Task IsCurrent_Following_OnlyAfterARefreshThatBeganAfterTheLastChange()
    {
        var watch = new DefinitionsWatch();
        var source = new Source();
        var index = new TriggerIndex();
        var refresher = Refresher(index, source, watch);
        await refresher.RefreshAsync(force: true, default);

        // Following starts with a change pending: what was committed while nobody followed is read first.
        watch.Follow(true);
        Assert.False(watch.IsCurrent);
        await refresher.RefreshAsync(force: false, default);
        Assert.True(watch.IsCurrent);

        source.Version = 2;
        watch.Changed();
        Assert.False(watch.IsCurrent);
        await refresher.RefreshAsync(force: false, default);
        Assert.True(watch.IsCurrent);
        Assert.Equal(2, index.Version);
    }

    [Fact]
    public void IsCurrent_ChangeCountedWhileARefreshReads_StaysPendingForTheNextRefresh()
    {
        var watch = new DefinitionsWatch();
        watch.Follow(true);
        var begun = watch.Changes;
        watch.Changed();

        // A refresh that began before the change does not clear it.
        watch.Applied(begun);

        Assert.False(watch.IsCurrent);
        watch.Applied(watch.Changes);
        Assert.True(watch.IsCurrent);
    }

    [Fact]
    public async Task IsCurrent_FollowingLost_FalseUntilFollowingAgainAndRefreshed()
    {
        var watch = new DefinitionsWatch();
        var source = new Source();
        var refresher = Refresher(new TriggerIndex(), source, watch);
        watch.Follow(true);
        await refresher.RefreshAsync(force: true, default);
        Assert.True(watch.IsCurrent);

        // The listening connection is lost: a change in that time is told by nobody, so nothing may be trusted.
        watch.Follow(false);
        Assert.False(watch.IsCurrent);
        await refresher.RefreshAsync(force: false, default);
        Assert.False(watch.IsCurrent);

        watch.Follow(true);
        Assert.False(watch.IsCurrent);
        await refresher.RefreshAsync(force: false, default);
        Assert.True(watch.IsCurrent);
    }

    [Fact]
    public async Task WaitAsync_ChangeCounted_ReturnsBeforeTheTimeout()
    {
        var watch = new DefinitionsWatch();
        var waiting = watch.WaitAsync(TimeSpan.FromMinutes(5), TimeProvider.System, CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        watch.Changed();

        await waiting.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
    }

    [Fact]
    public async Task ExecuteAsync_ChangeCounted_RefreshesWithoutWaitingForThePoll()
    {
        var watch = new DefinitionsWatch();
        var source = new Source();
        var index = new TriggerIndex();
        var refresher = new DefinitionsRefresher(
            index, source, Options.Create(new EngineOptions { DefinitionsPollInterval = TimeSpan.FromMinutes(1) }), TimeProvider.System,
            NullLogger<DefinitionsRefresher>.Instance, watch);
        watch.Follow(true);
        await refresher.StartAsync(CancellationToken.None);
        try
        {
            source.Version = 2;
            watch.Changed();
            using var give = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (index.Version != 2)
            {
                await Task.Delay(10, give.Token);
            }

            Assert.Equal(2, index.Version);
        }
        finally
        {
            await refresher.StopAsync(CancellationToken.None);
        }
    }
}
