using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Actionflow.Storage.Stores;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests.Time;

/// <summary>Cron schedules end to end: the actionflow executable, its scheduler in every worker, real PostgreSQL/RabbitMQ or embedded.</summary>
public sealed class ScheduleTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres, 3, 60)]
    [InlineData(PipelineMode.Embedded, 1, 25)]
    public async Task EverySecondAcrossWorkers_WithAKillNineInTheMiddle_FiresEachTickExactlyOnceAndDeactivationStopsItWithinATick(
        PipelineMode mode, int workers, int ticks)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        // The first worker migrates the new database; the others start on it after.
        var api = await pipeline.StartWorkerAsync();
        ActionflowProcess[] started = [api, .. await Task.WhenAll(Enumerable.Range(1, workers - 1).Select(_ => pipeline.StartWorkerAsync()))];
        using var project = await TestProject.CreateAsync(api);
        var (workflowId, actions) = await TimeSetup.WorkflowAsync(project, "every second", true, ("noop", TimeSetup.Cron("* * * * * *"), null));
        // A second schedule to watch the clock by after the first is deactivated.
        var (_, witness) = await TimeSetup.WorkflowAsync(project, "witness", true, ("noop", TimeSetup.Cron("* * * * * *"), null));
        var step = actions[0];

        Assert.True(await Pipeline.EventuallyAsync(async () => (await TimeSetup.FiresAsync(pipeline, step)).Count >= ticks / 3, TimeSpan.FromSeconds(90)), "the schedule did not fire");
        if (mode == PipelineMode.Embedded)
        {
            // The only worker dies and comes back: the ticks of the restart are caught up, none twice.
            started[0].Kill();
            await pipeline.StartWorkerAsync();
        }
        else
        {
            started[1].Kill();
        }

        Assert.True(await Pipeline.EventuallyAsync(async () => (await TimeSetup.FiresAsync(pipeline, step)).Count >= ticks, TimeSpan.FromSeconds(ticks + 60)),
            $"fewer than {ticks} fires");
        var host = mode == PipelineMode.Embedded ? pipeline.Workers[^1] : api;
        using var editor = ApiClient.Basic(host, project.Keys["editor"].ClientId, project.Keys["editor"].Secret);
        var deactivated = await editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = false });
        ApiAssert.Ok(deactivated);
        var stoppedAt = DateTime.UtcNow;
        Assert.Null((string?)deactivated.Json["workflow"]!["next_fire_at"]);
        // Three more ticks of the witness: time passed with the schedulers running.
        Assert.True(await Pipeline.EventuallyAsync(async () => (await TimeSetup.FiresAsync(pipeline, witness[0])).Count(f => f.ScheduledAt > stoppedAt.AddSeconds(1)) >= 3,
            TimeSpan.FromSeconds(60)), "the witness schedule stopped firing");

        var fires = await TimeSetup.FiresAsync(pipeline, step);
        var distinct = fires.Select(f => f.ScheduledAt).Distinct().Count();
        var span = (int)Math.Round((fires[^1].ScheduledAt - fires[0].ScheduledAt).TotalSeconds) + 1;
        var lags = fires.Select(f => f.LagMs).ToList();
        TimeReport.Write(output, string.Create(CultureInfo.InvariantCulture,
            $"TIME-SCHEDULE mode={mode} workers={workers} fires={fires.Count} distinct_ticks={distinct} span_ticks={span} after_deactivation={fires.Count(f => f.ScheduledAt > stoppedAt.AddSeconds(1))} lag_p50_ms={TimeSetup.Percentile(lags, 50):F0} lag_p99_ms={TimeSetup.Percentile(lags, 99):F0} lag_max_ms={lags.Max():F0}"));

        Assert.Equal(fires.Count, distinct);
        Assert.Equal(span, fires.Count);
        Assert.All(fires, f => Assert.Equal(1, f.Ticks));
        Assert.DoesNotContain(fires, f => f.ScheduledAt > stoppedAt.AddSeconds(1));
        Assert.True(fires.Count >= ticks);
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            var runs = await TimeSetup.RunsOfAsync(pipeline, step);
            return runs.Count == fires.Count && runs.All(r => r.Status == ActionRunStatus.Succeeded);
        }, TimeSpan.FromSeconds(60)), "every fire's run should succeed, once");
        Assert.Equal(fires.Select(f => f.EventId).Order(), (await TimeSetup.RunsOfAsync(pipeline, step)).Select(r => r.EventId).Order());
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task EveryWorkerDown_MissedTicksAreHandledByEachSchedulesCatchUpPolicyAtTheNextStart(PipelineMode mode)
    {
        var threshold = TimeSpan.FromSeconds(3);
        var settings = new Dictionary<string, string> { ["Actionflow__Engine__MisfireThreshold"] = "00:00:03" };
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync(settings);
        using var project = await TestProject.CreateAsync(worker);
        var skip = (await TimeSetup.WorkflowAsync(project, "skip", true, ("noop", TimeSetup.Cron("* * * * * *", "skip"), null))).ActionIds[0];
        var once = (await TimeSetup.WorkflowAsync(project, "once", true, ("noop", TimeSetup.Cron("* * * * * *"), null))).ActionIds[0];
        var all = (await TimeSetup.WorkflowAsync(project, "all", true, ("noop", TimeSetup.Cron("* * * * * *", "all", 3), null))).ActionIds[0];
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            foreach (var id in (long[])[skip, once, all])
            {
                if ((await TimeSetup.FiresAsync(pipeline, id)).Count < 2)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(60)), "the schedules did not fire before the outage");

        worker.Kill();
        var down = Stopwatch.StartNew();
        // The outage itself is what is tested: every worker stays down for ten seconds of wall-clock time.
        Assert.True(await Pipeline.EventuallyAsync(() => Task.FromResult(down.Elapsed >= TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(20)));
        await pipeline.StartWorkerAsync(settings);
        var restartedAt = DateTime.UtcNow;
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            foreach (var id in (long[])[skip, once, all])
            {
                if (!(await TimeSetup.FiresAsync(pipeline, id)).Any(f => f.ScheduledAt > restartedAt.AddSeconds(1)))
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(60)), "the schedules did not fire again after the restart");

        // A missed tick fired late is one fired more than the threshold after its time.
        var late = new Dictionary<long, List<Fire>>();
        foreach (var id in (long[])[skip, once, all])
        {
            var fires = await TimeSetup.FiresAsync(pipeline, id);
            Assert.Equal(fires.Count, fires.Select(f => f.ScheduledAt).Distinct().Count());
            late[id] = [.. fires.Where(f => f.FiredAt - f.ScheduledAt > threshold)];
        }

        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var dropped = await db.Set<Schedule>().AsNoTracking().ToDictionaryAsync(s => s.ActionId, s => s.DroppedTicks);
        TimeReport.Write(output, string.Create(CultureInfo.InvariantCulture,
            $"TIME-CATCH-UP mode={mode} down_s={down.Elapsed.TotalSeconds:F1} skip_late={late[skip].Count} skip_dropped={dropped[skip]} once_late={late[once].Count} once_ticks={late[once].Sum(f => f.Ticks)} all_late={late[all].Count} all_dropped={dropped[all]}"));
        Assert.Empty(late[skip]);
        Assert.True(dropped[skip] >= 5, $"skip dropped {dropped[skip]}");
        var stand = Assert.Single(late[once]);
        Assert.True(stand.Ticks >= 5, $"the once fire stands for {stand.Ticks} ticks");
        Assert.Equal(0, dropped[once]);
        Assert.Equal(3, late[all].Count);
        Assert.All(late[all], f => Assert.Equal(1, f.Ticks));
        Assert.True(dropped[all] >= 2, $"all dropped {dropped[all]}");
    }

    [Fact]
    public async Task ThousandSchedules_TwoWorkers_FireEveryTickOnceAndReportTheirLag()
    {
        const int Count = 1000;
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var first = await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("many-schedules");
        var now = DateTime.UtcNow;
        var actionIds = new List<long>();
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            // Made in the database and scheduled the way the API does it, in bulk: a thousand API round trips would test the API.
            await using var transaction = await db.Database.BeginTransactionAsync();
            var workflows = Enumerable.Range(0, Count).Select(i => new Workflow { ProjectId = project.Id, Name = $"s{i}", Active = true, TimeCreated = now, TimeUpdated = now }).ToList();
            db.AddRange(workflows);
            await db.SaveChangesAsync();
            var steps = workflows.Select(w => new WorkflowAction
            {
                ProjectId = project.Id, WorkflowId = w.Id, Kind = "noop", Ordinal = 0, TriggerData = TimeSetup.Cron("*/15 * * * * *"), TimeCreated = now, TimeUpdated = now,
            }).ToList();
            db.AddRange(steps);
            await db.SaveChangesAsync();
            foreach (var w in workflows)
            {
                await ScheduleSync.SyncAsync(db, w.Id, now, default);
            }

            await transaction.CommitAsync();
            actionIds.AddRange(steps.Select(s => s.Id));
        }

        // The schedulers see rows written by another process at their next poll.
        ActionflowProcess[] workers = [first, await pipeline.StartWorkerAsync()];
        var firstTick = await FirstTickAfterAsync(pipeline, DateTime.UtcNow.AddSeconds(1));
        var secondTick = firstTick.AddSeconds(15);
        List<(long ActionId, DateTime ScheduledAt, double LagMs)> fires = [];
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            fires = await AllFiresAsync(pipeline);
            return fires.Count(f => f.ScheduledAt == secondTick) >= Count;
        }, TimeSpan.FromSeconds(120)), $"not every schedule fired at {secondTick:O}: {fires.Count(f => f.ScheduledAt == secondTick)}");

        var measured = fires.Where(f => f.ScheduledAt == firstTick || f.ScheduledAt == secondTick).ToList();
        var lags = measured.Select(f => f.LagMs).ToList();
        TimeReport.Write(output, string.Create(CultureInfo.InvariantCulture,
            $"TIME-SCHEDULES schedules={Count} workers={workers.Length} ticks={measured.Count} lag_p50_ms={TimeSetup.Percentile(lags, 50):F0} lag_p99_ms={TimeSetup.Percentile(lags, 99):F0} lag_max_ms={lags.Max():F0}"));
        Assert.Equal(measured.Count, measured.Select(f => (f.ActionId, f.ScheduledAt)).Distinct().Count());
        Assert.Equal(Count, measured.Count(f => f.ScheduledAt == firstTick));
        Assert.Equal(Count, measured.Count(f => f.ScheduledAt == secondTick));
        Assert.Equal(actionIds.Order(), measured.Where(f => f.ScheduledAt == secondTick).Select(f => f.ActionId).Order());
    }

    /// <summary>The first 15-second tick that every schedule reached (the workers may start after the first ticks).</summary>
    private static async Task<DateTime> FirstTickAfterAsync(Pipeline pipeline, DateTime after)
    {
        var tick = new DateTime(after.Ticks - after.Ticks % TimeSpan.FromSeconds(15).Ticks, DateTimeKind.Utc).AddSeconds(15);
        Assert.True(await Pipeline.EventuallyAsync(async () => (await AllFiresAsync(pipeline)).Any(f => f.ScheduledAt >= tick), TimeSpan.FromSeconds(60)), "no schedule fired");
        return tick;
    }

    private static async Task<List<(long ActionId, DateTime ScheduledAt, double LagMs)>> AllFiresAsync(Pipeline pipeline)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var events = await db.Set<Event>().AsNoTracking().Where(e => e.Kind == "time_trigger").Select(e => new { e.ActionId, e.ExtraMetadata }).ToListAsync();
        return [.. events.Select(e =>
        {
            var scheduled = DateTime.Parse((string)e.ExtraMetadata["scheduled_at"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            var fired = DateTime.Parse((string)e.ExtraMetadata["fired_at"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            return (e.ActionId!.Value, scheduled, (fired - scheduled).TotalMilliseconds);
        })];
    }
}
