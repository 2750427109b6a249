using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Core.Tests;

public sealed class TriggerRunnerTests
{
    private const long ActionId = 5;

    [Fact]
    public async Task RunAsync_DatabaseFailsWhileRecordingTheOutcome_RecordsItAgainWithoutRunningTheStepTwice()
    {
        var store = new FlakyStore(failuresBeforeSuccess: 2);
        await using var services = Build(store);
        var runner = services.GetRequiredService<TriggerRunner>();

        var outcome = await runner.RunAsync(new TriggerMessage(1, ActionId, 7, RunId: 11), default);

        Assert.Equal(Verdict.Done, outcome);
        Assert.Equal(1, CountingRunner.Executions);
        Assert.Equal(3, store.CompletionCalls);
        Assert.Equal(ActionRunStatus.Succeeded, store.Recorded!.Status);
    }

    [Fact]
    public async Task RunAsync_DatabaseDownLongerThanTheLease_GivesUpSoTheTriggerIsRedelivered()
    {
        var store = new FlakyStore(failuresBeforeSuccess: int.MaxValue);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        await using var services = Build(store, lease: TimeSpan.FromSeconds(2), clock);
        var runner = services.GetRequiredService<TriggerRunner>();

        var run = runner.RunAsync(new TriggerMessage(1, ActionId, 7, RunId: 11), default).AsTask();
        while (!run.IsCompleted)
        {
            // The recorder waits on the fake clock between tries: move it on, and give the continuation a moment to run.
            clock.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5);
        }

        await Assert.ThrowsAsync<TimeoutException>(() => run);
        // Waits of 0.1 + 0.2 + 0.4 + 0.8 s fit in the 2 s lease; the next one (1.6 s) would not.
        Assert.Equal(5, store.CompletionCalls);
        Assert.Equal(1, CountingRunner.Executions);
    }

    private static ServiceProvider Build(FlakyStore store, TimeSpan? lease = null, TimeProvider? clock = null)
    {
        CountingRunner.Executions = 0;
        var services = new ServiceCollection();
        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IPipelineStore>(store);
        services.AddActionflowEngine(o => o.LeaseDuration = lease ?? TimeSpan.FromSeconds(15));
        services.AddActionRunner<CountingRunner>();
        var provider = services.BuildServiceProvider();
        var step = new WorkflowAction
        {
            Id = ActionId,
            ProjectId = 7,
            WorkflowId = 3,
            Kind = "counting",
            Active = true,
            TriggerData = new JsonObject { ["event_name"] = EventKinds.InputFileUploaded },
        };
        provider.GetRequiredService<TriggerIndex>().Load(1,
        [
            new TriggerDefinition(ActionId, 7, 3, "counting", 0, EventKinds.InputFileUploaded, step.TriggerData, [], null)
            {
                Snapshot = new ActionSnapshot(step, true, false, null, false),
            },
        ]);
        return provider;
    }

    [ActionTemplate("counting", "Counting", "Counts its executions.", Triggers = [EventKinds.InputFileUploaded])]
    private sealed class CountingRunner : ActionRunner<CountingRunner.Config>
    {
        public static int Executions;

        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<Config> context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Executions);
            return ValueTask.FromResult(ActionResult.Success());
        }

        public sealed class Config;
    }

    /// <summary>Claims succeed; recording the outcome throws a number of times first, as a database restarting would.</summary>
    private sealed class FlakyStore(int failuresBeforeSuccess) : IPipelineStore
    {
        public int CompletionCalls { get; private set; }

        public RunCompletion? Recorded { get; private set; }

        public Task<ClaimedRun?> TryClaimPendingRunAsync(PendingClaim claim, CancellationToken cancellationToken) =>
            Task.FromResult<ClaimedRun?>(new ClaimedRun(
                new ActionRun { Id = 11, EventId = 1, ActionId = ActionId, ProjectId = 7, WorkflowId = 3, WorkflowRunId = 9, Kind = "counting", Status = ActionRunStatus.Running, Attempt = 1, WorkerId = claim.WorkerId },
                new Event { ExtraMetadata = [], Payload = [], Id = 1, ProjectId = 7, Kind = EventKinds.InputFileUploaded }));

        public Task<CompletionRecorded> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> emittedMatches, CancellationToken cancellationToken)
        {
            if (++CompletionCalls <= failuresBeforeSuccess)
            {
                throw new TimeoutException("the database is restarting");
            }

            Recorded = completion;
            return Task.FromResult(new CompletionRecorded(true, []));
        }

        public Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<Event?> FindEventAsync(long eventId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ActionSnapshot?> LoadActionAsync(long actionId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<RunClaim> ClaimRunAsync(RunClaimRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<int> RequeueAbandonedRunsAsync(DateTime expiredBefore, DateTime now, int max, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken) =>
            Task.CompletedTask;
    }
}
