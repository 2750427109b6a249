using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;

namespace Actionflow.Core.Tests;

public sealed class ActionSnapshotCacheTests
{
    private static WorkflowAction Action(long id, bool active = true) => new()
    {
        Id = id,
        ProjectId = 1,
        WorkflowId = 10,
        Kind = "noop",
        Active = active,
        TriggerData = new JsonObject { ["event_name"] = "input_file_uploaded" },
        ConfigData = JsonNode.Parse("""{"nested":{"list":[1,{"deep":true}]}}""")!.AsObject(),
    };

    private static TriggerDefinition Indexed(long id) =>
        new(id, 1, 10, "noop", 0, "input_file_uploaded", new JsonObject { ["event_name"] = "input_file_uploaded" }, [], null)
        {
            Snapshot = new ActionSnapshot(Action(id), true, false, null, false),
        };

    [Fact]
    public async Task GetAsync_StepInTheIndex_ComesFromTheIndexWithoutReadingTheStore()
    {
        var index = new TriggerIndex();
        index.Load(1, [Indexed(1)]);
        var store = new CountingStore(Action(1));
        var cache = new ActionSnapshotCache(store, index);

        var snapshot = await cache.GetAsync(1, default);

        Assert.NotNull(snapshot);
        Assert.Equal(1, snapshot.Action.Id);
        Assert.Equal(0, store.Loads);
    }

    [Fact]
    public async Task GetAsync_StepNotInTheIndex_ReadOncePerDefinitionsVersion()
    {
        var index = new TriggerIndex();
        index.Load(1, []);
        var store = new CountingStore(Action(2, active: false));
        var cache = new ActionSnapshotCache(store, index);

        await cache.GetAsync(2, default);
        await cache.GetAsync(2, default);
        Assert.Equal(1, store.Loads);

        // A definitions change (the index moved on) drops what was read: the step may have changed with it.
        index.Load(2, []);
        var reread = await cache.GetAsync(2, default);
        Assert.Equal(2, store.Loads);
        Assert.False(reread!.Action.Active);
    }

    [Fact]
    public async Task GetAsync_MissingStep_IsNotCachedAsMissing()
    {
        var index = new TriggerIndex();
        index.Load(1, []);
        var store = new CountingStore(null);
        var cache = new ActionSnapshotCache(store, index);

        Assert.Null(await cache.GetAsync(3, default));
        Assert.Null(await cache.GetAsync(3, default));
        Assert.Equal(2, store.Loads);
    }

    [Fact]
    public void TriggerIndex_TryGetStep_OnlyStepsOfTheCurrentLoad()
    {
        var index = new TriggerIndex();
        index.Load(1, [Indexed(1), Indexed(2)]);
        Assert.True(index.TryGetStep(2, out var step));
        Assert.Equal(2, step.Action.Id);

        index.Load(2, [Indexed(1)]);
        Assert.False(index.TryGetStep(2, out _));
        Assert.True(index.TryGetStep(1, out _));
    }

    private sealed class CountingStore(WorkflowAction? action) : IPipelineStore
    {
        public int Loads { get; private set; }

        public Task<ActionSnapshot?> LoadActionAsync(long actionId, CancellationToken cancellationToken)
        {
            Loads++;
            return Task.FromResult(action is null ? null : new ActionSnapshot(action, true, false, null, false));
        }

        public Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<Event?> FindEventAsync(long eventId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ClaimedRun?> TryClaimPendingRunAsync(PendingClaim claim, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<RunClaim> ClaimRunAsync(RunClaimRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<CompletionRecorded> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> emittedMatches, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<int> RequeueAbandonedRunsAsync(DateTime expiredBefore, DateTime now, int max, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
