using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Sdk;

namespace Actionflow.Bench;

/// <summary>
/// The time scenarios: <c>schedules</c> (many schedules firing on the same ticks: the lag from tick to step done) and
/// <c>windows</c> (events per second through a debounce window, flat out over many keys).
/// </summary>
internal static class TimeScenarios
{
    /// <summary>Every schedule of the <c>schedules</c> scenario fires on these ticks (6-field cron: every 10 s).</summary>
    private const string Every10Seconds = "*/10 * * * * *";

    private static readonly TimeSpan TickSpacing = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <see cref="ScenarioPlan.Events"/> schedules (noop steps), one worker; measured: the ticks after the worker is
    /// ready (<c>--ticks</c>, default 3). events = fires, latency = the step's run finished − its tick, seconds = first
    /// tick to the last run finished.
    /// </summary>
    public static async Task<(Measurement, double)> SchedulesAsync(ScenarioPlan plan, BenchOptions options, string outDir, string database, string? broker, string? sqliteDir)
    {
        await using var storage = new BenchStorage(database);
        await storage.MigrateAsync();
        var project = (await storage.CreateProjectsAsync(plan.Name, 1))[0];
        var trigger = new JsonObject { ["event_name"] = EventKinds.TimeTrigger, ["cron_expression"] = Every10Seconds };
        var specs = Enumerable.Range(0, plan.Events).Select(i => new WorkflowSpec(project, $"{plan.Name} {i}", [EventKinds.TimeTrigger], trigger)).ToList();
        var setup = Stopwatch.StartNew();
        await storage.CreateWorkflowsAsync(specs);
        Progress.Write($"{plan.Name}: {plan.Events} schedules created in {setup.Elapsed.TotalSeconds:F1} s");

        await using var worker = await StartWorkerAsync(plan, options, outDir, database, broker, sqliteDir);
        var ready = DateTime.UtcNow;
        var first = new DateTime(ready.Ticks - ready.Ticks % TickSpacing.Ticks, DateTimeKind.Utc) + TickSpacing + TickSpacing;
        var ticks = options.Ticks ?? (options.Quick ? 2 : 3);
        var last = first + TickSpacing * (ticks - 1);
        var expected = (long)plan.Events * ticks;
        Progress.Write($"{plan.Name}: measuring the ticks {first:HH:mm:ss} to {last:HH:mm:ss} ({expected} fires)");

        List<(long EventId, long ActionId, DateTime ScheduledAt, DateTime FiredAt)> fires = [];
        var byEvent = new Dictionary<long, DateTime?>();
        await WaitAsync(worker, last + TimeSpan.FromMinutes(2), plan.Name, async () =>
        {
            fires = [.. (await storage.LoadFiresAsync()).Where(f => f.ScheduledAt >= first && f.ScheduledAt <= last)];
            if (fires.Count < expected)
            {
                return $"{fires.Count} of {expected} fires";
            }

            byEvent = (await storage.LoadRunsAsync(project)).Where(r => r.Status == ActionRunStatus.Succeeded).ToDictionary(r => r.EventId, r => r.Finished);
            var done = fires.Count(f => byEvent.ContainsKey(f.EventId));
            return done >= expected ? null : $"{done} of {expected} runs";
        });

        if (fires.Select(f => (f.ActionId, f.ScheduledAt)).Distinct().Count() != fires.Count)
        {
            throw new InvalidOperationException($"{plan.Name}: a tick fired twice");
        }

        var latencies = fires.Select(f => (byEvent[f.EventId]!.Value - f.ScheduledAt).TotalMilliseconds).ToArray();
        var fireLags = fires.Select(f => (f.FiredAt - f.ScheduledAt).TotalMilliseconds).Order().ToArray();
        Progress.Write(string.Create(CultureInfo.InvariantCulture,
            $"{plan.Name}: tick→fired p50 {fireLags[fireLags.Length / 2]:F0} ms, p99 {fireLags[Math.Min(fireLags.Length - 1, (int)(fireLags.Length * 0.99))]:F0} ms, max {fireLags[^1]:F0} ms (the latency on stdout is tick→step done)"));
        var end = fires.Max(f => byEvent[f.EventId]!.Value);
        return (new Measurement(fires.Count, fires.Count, (end - first).TotalSeconds, latencies), worker.PeakRssBytes / 1048576.0);
    }

    /// <summary>
    /// A debounce window (key <c>directory_id</c> over <c>--keys</c> keys, default 100; quiet 1 s) on a noop step,
    /// <see cref="ScenarioPlan.Events"/> events flat out. events_per_s: events ÷ (first sent → every event accounted
    /// for: the last window's run done and every other event recorded skipped); latency per key: its run done − its
    /// last event sent (the quiet second included); runs: the windows' runs.
    /// </summary>
    public static async Task<(Measurement, double)> WindowsAsync(ScenarioPlan plan, BenchOptions options, string outDir, string database, string? broker, string? sqliteDir)
    {
        await using var storage = new BenchStorage(database);
        await storage.MigrateAsync();
        var project = (await storage.CreateProjectsAsync(plan.Name, 1))[0];
        var keys = options.Keys ?? 100;
        var trigger = new JsonObject
        {
            ["event_name"] = EventKinds.InputFileUploaded,
            ["window"] = new JsonObject { ["mode"] = "debounce", ["key"] = "directory_id", ["quiet"] = "1s", ["max_wait"] = "10m" },
        };
        await storage.CreateWorkflowsAsync([new WorkflowSpec(project, plan.Name, [EventKinds.InputFileUploaded], trigger)]);

        await using var worker = await StartWorkerAsync(plan, options, outDir, database, broker, sqliteDir);
        await using IEventFeed feed = plan.Embedded ? new EmbeddedEventFeed(storage.EmbeddedQueue) : await AmqpEventFeed.ConnectAsync(broker!);
        var batch = new EventBatch(1, [.. Enumerable.Repeat((project, EventKinds.InputFileUploaded), plan.Events)], i => 1 + i % keys);
        var clock = Stopwatch.StartNew();
        await feed.SendAllAsync(batch);
        Progress.Write($"{plan.Name}: {plan.Events} events over {keys} keys fed in {clock.Elapsed.TotalSeconds:F2} s");

        List<(long EventId, ActionRunStatus Status, DateTime? Finished)> runs = [];
        await WaitAsync(worker, DateTime.UtcNow + TimeSpan.FromMinutes(10), plan.Name, async () =>
        {
            runs = await storage.LoadRunsAsync(project);
            var skipped = runs.Count(r => r.Status == ActionRunStatus.Skipped);
            var ran = runs.Count(r => r.Status == ActionRunStatus.Succeeded);
            return skipped + ran >= plan.Events && ran >= keys ? null : $"{skipped} skipped and {ran} runs of {plan.Events} events, {keys} keys";
        });

        var (members, sources) = await storage.LoadWindowEventsAsync(project);
        var latencies = new List<double>();
        foreach (var run in runs.Where(r => r.Status == ActionRunStatus.Succeeded))
        {
            var member = members[run.EventId].Single();
            if (batch.TryIndexOf(sources[member], out var index))
            {
                latencies.Add((run.Finished!.Value - new DateTime(batch.SentTicks[index], DateTimeKind.Utc)).TotalMilliseconds);
            }
        }

        var end = runs.Max(r => r.Finished ?? DateTime.MinValue);
        var ranCount = runs.Count(r => r.Status == ActionRunStatus.Succeeded);
        return (new Measurement(plan.Events, ranCount, (end - batch.FirstSent).TotalSeconds, [.. latencies]), worker.PeakRssBytes / 1048576.0);
    }

    private static async Task<WorkerProcess> StartWorkerAsync(ScenarioPlan plan, BenchOptions options, string outDir, string database, string? broker, string? sqliteDir)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Actionflow__Database"] = database,
            ["Actionflow__Broker"] = broker ?? "",
            ["Logging__LogLevel__Default"] = options.WorkerLogLevel,
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        };
        if (sqliteDir is not null)
        {
            environment["Actionflow__DataDirectory"] = sqliteDir;
        }

        foreach (var (key, value) in options.WorkerEnvironment)
        {
            environment[key] = value;
        }

        var worker = await WorkerProcess.StartAsync(environment, Path.Combine(outDir, $"{plan.Name}.worker.log"), Path.Combine(outDir, $"{plan.Name}.rss.csv"));
        Progress.Write($"{plan.Name}: worker pid {worker.Id} ready");
        return worker;
    }

    /// <summary>Polls <paramref name="progress"/> (null: done; else what is missing) every second until done, the worker exits or the deadline passes.</summary>
    private static async Task WaitAsync(WorkerProcess worker, DateTime deadline, string label, Func<Task<string?>> progress)
    {
        var report = Stopwatch.StartNew();
        while (true)
        {
            worker.ThrowIfExited();
            var missing = await progress();
            if (missing is null)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{label}: {missing} by {deadline:HH:mm:ss}; see {worker.LogPath}");
            }

            if (report.Elapsed > TimeSpan.FromSeconds(10))
            {
                Progress.Write($"{label}: {missing}");
                report.Restart();
            }

            await Task.Delay(1000);
        }
    }
}
