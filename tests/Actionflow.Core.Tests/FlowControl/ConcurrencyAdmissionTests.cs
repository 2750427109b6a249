using Actionflow.Core.FlowControl;

namespace Actionflow.Core.Tests.FlowControl;

public sealed class ConcurrencyAdmissionTests
{
    private static readonly Dictionary<string, int> NoneRunning = [];

    [Fact]
    public void Decide_NoLimits_AdmitsEveryoneInArrivalOrder()
    {
        var decision = ConcurrencyAdmission.Decide(ConcurrencyLimits.None, NoneRunning, 50, [new(3, "a"), new(1, "a"), new(2, "b")]);

        Assert.Equal([3L, 1, 2], decision.Admit);
        Assert.Empty(decision.Hold);
    }

    [Fact]
    public void Decide_PerKeyLimit_HoldsOnlyThatKeysLaterRuns()
    {
        var decision = ConcurrencyAdmission.Decide(new ConcurrencyLimits(1, null), NoneRunning, 0,
            [new(1, "file-7"), new(2, "file-7"), new(3, "file-8"), new(4, "file-7")]);

        Assert.Equal([1L, 3], decision.Admit);
        Assert.Equal([2L, 4], decision.Hold.Select(h => h.RunId));
        Assert.Equal("waiting: key file-7 has 1 of 1 runs running", decision.Hold[0].Reason);
    }

    [Fact]
    public void Decide_KeyAlreadyRunning_CountsThoseRuns()
    {
        var decision = ConcurrencyAdmission.Decide(new ConcurrencyLimits(2, null), new Dictionary<string, int> { ["k"] = 1 }, 1,
            [new(1, "k"), new(2, "k")]);

        Assert.Equal([1L], decision.Admit);
        Assert.Equal("waiting: key k has 2 of 2 runs running", Assert.Single(decision.Hold).Reason);
    }

    [Fact]
    public void Decide_WorkflowLimit_HoldsEverythingPastIt()
    {
        var decision = ConcurrencyAdmission.Decide(new ConcurrencyLimits(null, 3), NoneRunning, 1,
            [new(1, "a"), new(2, "b"), new(3, "c"), new(4, "d")]);

        Assert.Equal([1L, 2], decision.Admit);
        Assert.Equal([3L, 4], decision.Hold.Select(h => h.RunId));
        Assert.Equal("waiting: the workflow has 3 of 3 runs running", decision.Hold[0].Reason);
    }

    [Fact]
    public void Decide_InvalidLimit_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ConcurrencyAdmission.Decide(new ConcurrencyLimits(0, null), NoneRunning, 0, []));

    [Fact]
    public void Decide_FiveHundredRunsOnTenKeysLimitOne_NeverTwoOfAKeyAndEachKeyInArrivalOrder()
    {
        var limits = new ConcurrencyLimits(1, 4);
        var waiting = Enumerable.Range(1, 500).Select(i => new WaitingRun(i, $"file-{i % 10}")).ToList();
        var running = new List<WaitingRun>();
        var started = new List<WaitingRun>();
        var random = new Random(3);
        while (waiting.Count > 0 || running.Count > 0)
        {
            var byKey = running.GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Count());
            var decision = ConcurrencyAdmission.Decide(limits, byKey, running.Count, waiting);
            foreach (var id in decision.Admit)
            {
                var run = waiting.Single(w => w.RunId == id);
                waiting.Remove(run);
                running.Add(run);
                started.Add(run);
            }

            Assert.True(running.Count <= 4);
            Assert.All(running.GroupBy(r => r.Key), g => Assert.Single(g));
            if (running.Count > 0)
            {
                running.RemoveAt(random.Next(running.Count));
            }
        }

        Assert.Equal(500, started.Count);
        Assert.All(started.GroupBy(r => r.Key), g => Assert.Equal(g.Select(r => r.RunId).Order(), g.Select(r => r.RunId)));
    }

    [Fact]
    public void Decide_StepsOfOneWorkflow_EachKeyUnderItsStepsLimitAndAllUnderTheWorkflows()
    {
        // Step 1 allows one run per key, step 2 two; the workflow three in all; "1/a" already runs.
        var running = new Dictionary<string, int> { ["1/a"] = 1 };
        WaitingRun Run(long id, string slot, int limit, string shown) => new(id, slot) { KeyLimit = limit, ShownKey = shown };

        var decision = ConcurrencyAdmission.Decide(new ConcurrencyLimits(null, 3), running, 1,
            [Run(10, "1/a", 1, "a"), Run(11, "2/a", 2, "a"), Run(12, "2/a", 2, "a"), Run(13, "1/b", 1, "b")]);

        Assert.Equal([11L, 12], decision.Admit);
        Assert.Equal(
            [new HeldRun(10, "waiting: key a has 1 of 1 runs running"), new HeldRun(13, "waiting: the workflow has 3 of 3 runs running")],
            decision.Hold);
    }

    [Fact]
    public void Decide_WaitingRunWithLimitBelowOne_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ConcurrencyAdmission.Decide(ConcurrencyLimits.None, NoneRunning, 0, [new(1, "a") { KeyLimit = 0 }]));
}
