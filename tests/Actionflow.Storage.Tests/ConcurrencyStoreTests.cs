using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class ConcurrencyStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    private IConcurrencyStore Concurrency => Db.Get<IConcurrencyStore>();

    [Fact]
    public async Task SweepAsync_MoreWorkflowsWaitingThanItTakes_ReleasesTheLowestWorkflowsFirstAndLeavesTheRestWaiting()
    {
        // Three workflows, each with one run waiting for a slot that nobody holds (its holder's end was never handed on).
        var waiting = new List<(long WorkflowId, long RunId)>();
        for (var i = 0; i < 3; i++)
        {
            var flow = await SeedWorkflowAsync(1, steps: new Step(0));
            waiting.Add((flow.WorkflowId, await WaitingRunAsync(flow)));
        }

        var released = await Concurrency.SweepAsync(T0.AddMinutes(1), maxWorkflows: 2, default);

        Assert.Equal(2, released);
        await using var db = await Db.ContextAsync();
        var runs = await db.ActionRuns.AsNoTracking().OrderBy(r => r.WorkflowId).ToListAsync();
        Assert.Equal(waiting.OrderBy(w => w.WorkflowId).Select(w => w.RunId), runs.Select(r => r.Id));
        // Admitted: due now, their triggers claim them; the third is still waiting for the next sweep.
        Assert.Equal([true, true, false], runs.Select(r => r.AdmittedAt is not null));
        Assert.All(runs, r => Assert.Equal(ActionRunStatus.Waiting, r.Status));
    }

    /// <summary>A claimed run of the workflow's step, then recorded waiting for a slot of key "k", as a full slot leaves it.</summary>
    private async Task<long> WaitingRunAsync(SeededWorkflow flow)
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await using var db = await Db.ContextAsync();
        var changed = await db.ActionRuns.Where(r => r.Id == claim.Run.Id).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, ActionRunStatus.Waiting)
            .SetProperty(r => r.ConcurrencyKey, "k")
            .SetProperty(r => r.ErrorReason, "waiting: key k has 1 of 1 runs running")
            .SetProperty(r => r.LeaseUntil, (DateTime?)null));
        Assert.Equal(1, changed);
        return claim.Run.Id;
    }
}
