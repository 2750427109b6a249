using System.Diagnostics;
using System.Globalization;
using Actionflow.Sdk;

namespace Actionflow.Bench;

/// <summary>One Actionflow scenario: how its workflows look, how many events, how they are fed.</summary>
/// <param name="ChainLength">Steps per workflow: 1, or 3 for <c>event → step 1 → action_completed → step 2 → step 3</c>.</param>
/// <param name="Workflows">0: one workflow in one project; otherwise the many-workflows layout with this many.</param>
/// <param name="PacedRate">Events per second, or null for flat out.</param>
/// <param name="OverHttp">Events sent as <c>POST .../events</c> requests instead of over AMQP or into the embedded queue.</param>
internal sealed record ScenarioPlan(string Name, bool Embedded, int Events, int ChainLength, int Workflows, double? PacedRate, bool OverHttp = false)
{
    public static ScenarioPlan For(string name, BenchOptions options)
    {
        int Size(int full) => options.Events ?? options.Scale(full);
        int Paced() => options.Events ?? (int)Math.Round(options.Rate * (options.Duration ?? (options.Quick ? 3 : 30)));
        return name switch
        {
            "one-step" => new(name, false, Size(50_000), 1, 0, null),
            "three-step" => new(name, false, Size(10_000), 3, 0, null),
            "paced" => new(name, false, Paced(), 1, 0, options.Rate),
            // Chains published at --rate per second; latency is to the third step's finish, as for three-step.
            "three-step-paced" => new(name, false, Paced(), 3, 0, options.Rate),
            "many-workflows-10" => new(name, false, Size(50_000), 1, 10, null),
            "many-workflows-10000" => new(name, false, Size(50_000), 1, 10_000, null),
            // Same layout (ten per project, so 10,000 projects); the definitions are not scaled by --quick, only the events.
            "many-workflows-100000" => new(name, false, Size(50_000), 1, 100_000, null),
            "embedded" => new(name, true, Size(50_000), 1, 0, null),
            // The embedded scenario with each event inserted into the embedded queue on its due time (--rate, --duration).
            "embedded-paced" => new(name, true, Paced(), 1, 0, options.Rate),
            // Events here are schedules (each fires every 10 s), and events through a debounce window.
            "schedules" => new(name, false, Size(1_000), 1, 0, null),
            "windows" => new(name, false, Size(20_000), 1, 0, null),
            // One step with a trigger filter that holds for every event (its cost, not fewer runs); a diamond A → B, C → D.
            "filter" => new(name, false, Size(50_000), 1, 0, null),
            "diamond" => new(name, false, Size(10_000), 4, 0, null),
            // Events through POST .../events from a load client of its own (--connections); --duration instead of a count.
            "http" => new(name, false, Size(20_000), 1, 0, null),
            "http-embedded" => new(name, true, Size(20_000), 1, 0, null),
            // Events through POST .../events, each request sent on its due time (--rate, --duration); latency to the run's finish.
            "http-paced" => new(name, false, Paced(), 1, 0, options.Rate, OverHttp: true),
            "http-embedded-paced" => new(name, true, Paced(), 1, 0, options.Rate, OverHttp: true),
            _ => throw new ArgumentException($"'{name}' is not an Actionflow scenario"),
        };
    }
}

/// <summary>
/// How a run warms up before it measures: rounds of <see cref="RoundSize"/> events (or messages, for the baseline), sent
/// flat out, until a round in which the process compiled at most <see cref="QuietMethods"/> methods, for at most
/// <see cref="MaxTime"/>. A fresh process under full load spends much of its CPU for its first tens of seconds compiling
/// its hot methods again at tier 1; a measurement taken then measures that (bench/README.md, "Round 12").
/// <c>--warmup N</c>: one round of N (0: none), as every run did before round 12.
/// </summary>
internal sealed record WarmupPlan(int RoundSize, bool OneRound)
{
    public const int QuietMethods = 50;

    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(150);

    /// <summary>
    /// Runs <paramref name="round"/> (1, 2, ...; it sends one round, waits for it, and returns the methods compiled
    /// meanwhile, or null when that cannot be read) until the plan says the warm-up is over. Returns the rounds run.
    /// </summary>
    public async Task<int> RunAsync(string label, Func<int, Task<long?>> round)
    {
        if (RoundSize == 0)
        {
            return 0;
        }

        var clock = Stopwatch.StartNew();
        for (var n = 1; ; n++)
        {
            var compiled = await round(n);
            if (OneRound || compiled is null || compiled <= QuietMethods)
            {
                return n;
            }

            if (clock.Elapsed > MaxTime)
            {
                Progress.Write($"{label}: warm-up stopped after {clock.Elapsed.TotalSeconds:F0} s with the JIT still compiling");
                return n;
            }
        }
    }

    public static WarmupPlan For(BenchOptions options) =>
        options.Warmup is { } fixedCount ? new(fixedCount, OneRound: true) : new(options.Quick ? 1_000 : 5_000, OneRound: false);
}

/// <summary>Runs a scenario end to end: fresh database and vhost, definitions, worker process, warm-up, measured phase, results from the database.</summary>
internal static class ScenarioRunner
{
    /// <summary>Diffgram ids of warm-up events start here; measured events start at 1.</summary>
    private const long WarmupFirstId = 1_000_000_000;

    /// <summary>
    /// Per project in the many-workflows layout, ten workflows, each triggered by one of five kinds: an event of a
    /// kind matches 1, 2 or 3 workflows of its project (two on average) and none elsewhere.
    /// </summary>
    private static readonly string[] ManyKinds =
        [EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.FileCopy, EventKinds.FileMove];

    private static readonly int[] ManyLayout = [0, 1, 1, 2, 2, 2, 3, 4, 4, 4];

    public static async Task<(Measurement Measurement, double PeakRssMb)> RunAsync(ScenarioPlan plan, BenchOptions options, string outDir)
    {
        string database;
        string? broker = null;
        string? sqliteDir = null;
        if (plan.Embedded)
        {
            sqliteDir = Path.Combine(Path.GetTempPath(), "actionflow-bench-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(sqliteDir);
            database = $"Data Source={Path.Combine(sqliteDir, "actionflow.db")}";
        }
        else
        {
            database = await BenchEnvironment.CreateDatabaseAsync(plan.Name);
            broker = await BenchEnvironment.CreateVirtualHostAsync(plan.Name);
        }

        try
        {
            return await RunInAsync(plan, options, outDir, database, broker, sqliteDir);
        }
        finally
        {
            if (options.Keep)
            {
                Progress.Write($"{plan.Name}: kept {(sqliteDir ?? database)}{(broker is null ? "" : " and " + broker)}");
            }
            else if (sqliteDir is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                TryDeleteDirectory(sqliteDir);
            }
            else
            {
                // A cleanup that fails must not cost the scenario its measurement: say what is left behind.
                try
                {
                    await BenchEnvironment.DropDatabaseAsync(database);
                    await BenchEnvironment.DeleteVirtualHostAsync(broker!);
                }
                catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException)
                {
                    Progress.Write($"{plan.Name}: could not drop {database} and {broker}; drop them by hand: {ex.Message}");
                }
            }
        }
    }

    private static async Task<(Measurement, double)> RunInAsync(ScenarioPlan plan, BenchOptions options, string outDir, string database, string? broker, string? sqliteDir)
    {
        switch (plan.Name)
        {
            case "schedules":
                return await TimeScenarios.SchedulesAsync(plan, options, outDir, database, broker, sqliteDir);
            case "windows":
                return await TimeScenarios.WindowsAsync(plan, options, outDir, database, broker, sqliteDir);
            case "http" or "http-embedded":
                return await HttpScenario.RunAsync(plan, options, outDir, database, broker, sqliteDir);
        }

        await using var storage = new BenchStorage(database);
        await storage.MigrateAsync();

        var setupClock = Stopwatch.StartNew();
        var warmupProject = (await storage.CreateProjectsAsync("warmup", 1))[0];
        await storage.CreateWorkflowsAsync([new WorkflowSpec(warmupProject, "warmup", ChainSteps(plan.ChainLength))]);
        var (targets, expectedRuns) = await CreateDefinitionsAsync(storage, plan);
        Progress.Write($"{plan.Name}: definitions created in {setupClock.Elapsed.TotalSeconds:F1} s; {plan.Events} events, {expectedRuns} runs expected");

        var environment = WorkerEnvironment(options, database, broker, sqliteDir);
        await using var worker = await WorkerProcess.StartAsync(
            environment, Path.Combine(outDir, $"{plan.Name}.worker.log"), Path.Combine(outDir, $"{plan.Name}.rss.csv"));
        Progress.Write($"{plan.Name}: worker pid {worker.Id} ready");
        // The definitions exist before the worker starts, so it loads them before it consumes; the pause also covers a
        // definitions poll (every 500 ms) in case a worker ever starts consuming first.
        await Task.Delay(1500);

        await using IEventFeed feed = plan.OverHttp
            ? await HttpEventFeed.CreateAsync(storage, worker.BaseAddress, options.Connections, [warmupProject, .. targets.Select(t => t.ProjectId).Distinct()])
            : plan.Embedded ? new EmbeddedEventFeed(storage.EmbeddedQueue) : await AmqpEventFeed.ConnectAsync(broker!);

        var warmupEvents = await WarmUpAsync(
            options, storage, worker, plan.ChainLength, plan.Name,
            (first, count) => feed.SendAllAsync(new EventBatch(WarmupFirstId + first, [.. Enumerable.Repeat((warmupProject, EventKinds.InputFileUploaded), count)])));
        var warmupRuns = warmupEvents * plan.ChainLength;

        if (await storage.AnalyzeAsync() is { } analyzed)
        {
            Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{plan.Name}: ANALYZE after the warm-up took {analyzed:F1} s"));
        }

        var batch = new EventBatch(1, targets);
        var scope = new CpuScope(
            worker.Id,
            broker is null ? null : new Uri(broker).Port,
            sqliteDir is null ? new Npgsql.NpgsqlConnectionStringBuilder(database).Database : "(none: embedded)");
        var cpuBefore = CpuSplit.Take(scope);
        var dbBefore = await storage.ReadDatabaseCountersAsync();
        var allocatedBefore = await worker.AllocatedBytesAsync();
        var commandsBefore = worker.PostgresCommands;
        var groupCommitsBefore = worker.GroupCommits;
        var jitBefore = worker.Jit;
        await using var profile = options.Profile ? CpuProfile.TryStart(worker.Id, Path.Combine(outDir, $"{plan.Name}.nettrace")) : null;
        await using var steal = StealTimeline.Start();
        var clock = Stopwatch.StartNew();
        if (plan.PacedRate is { } rate)
        {
            await feed.SendPacedAsync(batch, rate);
        }
        else
        {
            await feed.SendAllAsync(batch);
        }

        var published = clock.Elapsed.TotalSeconds;
        await WaitForRunsAsync(storage, worker, warmupRuns + expectedRuns, plan.Name);
        var wall = clock.Elapsed.TotalSeconds;
        var cpuAfter = CpuSplit.Take(scope);
        var allocatedAfter = await worker.AllocatedBytesAsync();
        var commandsAfter = worker.PostgresCommands;
        var groupCommitsAfter = worker.GroupCommits;
        var jitAfter = worker.Jit;
        if (profile is not null)
        {
            await profile.StopAsync();
            var table = CpuProfile.Table(profile.Path);
            await File.WriteAllTextAsync(Path.ChangeExtension(profile.Path, ".cpu.md"), table);
            Progress.Write($"{plan.Name}: CPU profile over the measured phase ({profile.Path}):\n{table}");
        }

        await Task.Delay(1100);
        var dbAfter = await storage.ReadDatabaseCountersAsync();

        var timings = await storage.LoadTimingsAsync(warmupProject);
        var measurement = Measure(plan, batch, timings, expectedRuns, worker.Gc, steal is null ? null : steal.Describe, out var stages) with
        {
            AllocatedKbPerEvent = WorkerProcess.KbPerEvent(allocatedBefore, allocatedAfter, batch.Count),
        };
        Progress.Write($"{plan.Name}: fed in {published:F2} s; {CpuSplit.Describe(cpuBefore, cpuAfter, wall, batch.Count)}");
        Progress.Write($"{plan.Name}: median stages: {stages}");
        if (dbBefore is not null && dbAfter is not null)
        {
            Progress.Write($"{plan.Name}: PostgreSQL {dbAfter.PerEvent(dbBefore, batch.Count)}");
        }

        Progress.Write($"{plan.Name}: {JitDuring(jitBefore, jitAfter)}");
        if (commandsBefore is { } cb && commandsAfter is { } ca)
        {
            Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{plan.Name}: worker round trips to PostgreSQL (Npgsql commands and batches) per event: {(double)(ca - cb) / batch.Count:F2}"));
        }

        if (groupCommitsBefore is not null && groupCommitsAfter is not null)
        {
            Progress.Write($"{plan.Name}: {GroupCommitHistogram.Describe(groupCommitsBefore, groupCommitsAfter, batch.Count)}");
        }

        return (measurement, worker.PeakRssBytes / 1048576.0);
    }

    /// <summary>The worker's environment: the scenario's database and broker (none: embedded), log level, <c>--worker-env</c>.</summary>
    internal static Dictionary<string, string> WorkerEnvironment(BenchOptions options, string database, string? broker, string? sqliteDir)
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

        return environment;
    }

    private static Measurement Measure(
        ScenarioPlan plan, EventBatch batch, List<RunTiming> timings, long expectedRuns, Func<long, long, GcActivity?> gc, Func<long, long, string?>? steal, out string stages)
    {
        if (timings.Count != expectedRuns)
        {
            throw new InvalidOperationException($"{timings.Count} succeeded runs recorded for the measured events, {expectedRuns} expected");
        }

        // The last run of each event: the chain's last step, or the last of the workflows it started.
        var last = new RunTiming?[batch.Count];
        foreach (var t in timings)
        {
            if (!batch.TryIndexOf(t.SourceEventId, out var i))
            {
                throw new InvalidOperationException($"a run belongs to an event with id {t.SourceEventId}, which the benchmark did not send");
            }

            if (last[i] is not { } seen || t.Finished > seen.Finished)
            {
                last[i] = t;
            }
        }

        var latencies = new double[batch.Count];
        var received = new double[batch.Count];
        var queued = new double[batch.Count];
        var executed = new double[batch.Count];
        var lastFinish = DateTime.MinValue;
        for (var i = 0; i < batch.Count; i++)
        {
            var t = last[i] ?? throw new InvalidOperationException($"event {batch.FirstId + i} has no succeeded run");
            var sent = new DateTime(batch.SentTicks[i], DateTimeKind.Utc);
            latencies[i] = (t.Finished - sent).TotalMilliseconds;
            received[i] = (t.Received - sent).TotalMilliseconds;
            queued[i] = ((t.Started ?? t.Finished) - t.Received).TotalMilliseconds;
            executed[i] = (t.Finished - (t.Started ?? t.Finished)).TotalMilliseconds;
            lastFinish = t.Finished > lastFinish ? t.Finished : lastFinish;
        }

        static string Median(double[] values) => values.Order().ElementAt(values.Length / 2).ToString("F2", CultureInfo.InvariantCulture);
        var lastStep = plan.ChainLength > 1 ? "last step " : "run ";
        stages = $"sent→event received {Median(received)} ms, received→{lastStep}started {Median(queued)} ms, {lastStep}started→finished {Median(executed)} ms";
        if (gc(batch.FirstSent.Ticks, lastFinish.Ticks) is { } phase)
        {
            stages += $"\n{plan.Name}: over the measured phase, {phase.Describe()}";
        }

        if (steal?.Invoke(batch.FirstSent.Ticks, lastFinish.Ticks) is { } stolen)
        {
            stages += $"\n{plan.Name}: over the measured phase, {stolen}";
        }

        stages += "\n" + Stalls.Describe(plan.Name, batch, latencies, received, queued, executed, lastStep, gc, steal);
        return new Measurement(batch.Count, timings.Count, (lastFinish - batch.FirstSent).TotalSeconds, latencies);
    }

    private static async Task<(List<(long ProjectId, string Kind)> Targets, long ExpectedRuns)> CreateDefinitionsAsync(BenchStorage storage, ScenarioPlan plan)
    {
        if (plan.Workflows == 0)
        {
            var project = (await storage.CreateProjectsAsync(plan.Name, 1))[0];
            var steps = (await storage.CreateWorkflowsAsync([new WorkflowSpec(project, plan.Name, ChainSteps(plan.ChainLength))]))[0];
            switch (plan.Name)
            {
                case "filter":
                    await storage.ChangeStepAsync(steps[0], a => a.TriggerData["filter"] = "event.project_id > 0 && event.extra_metadata.size() >= 0");
                    break;
                case "diamond":
                    await storage.ChangeStepAsync(steps[1], a => a.DependsOn = [steps[0]]);
                    await storage.ChangeStepAsync(steps[2], a => a.DependsOn = [steps[0]]);
                    await storage.ChangeStepAsync(steps[3], a => a.DependsOn = [steps[1], steps[2]]);
                    break;
            }

            return ([.. Enumerable.Repeat((project, EventKinds.InputFileUploaded), plan.Events)], (long)plan.Events * plan.ChainLength);
        }

        var projectCount = (plan.Workflows + ManyLayout.Length - 1) / ManyLayout.Length;
        var projects = await storage.CreateProjectsAsync(plan.Name, projectCount);
        var specs = new List<WorkflowSpec>(plan.Workflows);
        var matches = new int[projectCount, ManyKinds.Length];
        for (var w = 0; w < plan.Workflows; w++)
        {
            var p = w / ManyLayout.Length;
            var kind = ManyLayout[w % ManyLayout.Length];
            matches[p, kind]++;
            specs.Add(new WorkflowSpec(projects[p], $"{plan.Name} {w}", [ManyKinds[kind]]));
        }

        await storage.CreateWorkflowsAsync(specs);

        // Same seed in every run and for 10 and 10,000 workflows: the same mix of 1, 2 and 3 matches per event.
        var random = new Random(20_261_127);
        var targets = new List<(long, string)>(plan.Events);
        long runs = 0;
        while (targets.Count < plan.Events)
        {
            var p = random.Next(projectCount);
            var k = random.Next(ManyKinds.Length);
            if (matches[p, k] > 0)
            {
                targets.Add((projects[p], ManyKinds[k]));
                runs += matches[p, k];
            }
        }

        return (targets, runs);
    }

    internal static string[] ChainSteps(int length) =>
        [.. Enumerable.Range(0, length).Select(i => i == 0 ? EventKinds.InputFileUploaded : EventKinds.ActionCompleted)];

    /// <summary>
    /// Sends warm-up events flat out, in rounds, until the worker's JIT is done with what the scenario runs: a fresh
    /// worker under full load spends much of its CPU for its first tens of seconds compiling its hot methods again at
    /// tier 1, and a measurement taken then measures that (bench/README.md, "Round 12"). <c>--warmup N</c> sends one
    /// round of N instead. Returns the events sent.
    /// </summary>
    internal static async Task<long> WarmUpAsync(BenchOptions options, BenchStorage storage, WorkerProcess worker, int chainLength, string label, Func<long, int, Task> send)
    {
        var plan = WarmupPlan.For(options);
        var rounds = await plan.RunAsync(label, async round =>
        {
            await worker.AllocatedBytesAsync();
            var before = worker.Jit;
            var roundClock = Stopwatch.StartNew();
            var sent = (long)(round - 1) * plan.RoundSize;
            await send(sent, plan.RoundSize);
            await WaitForRunsAsync(storage, worker, (sent + plan.RoundSize) * chainLength, $"{label} warm-up");
            await worker.AllocatedBytesAsync();
            var after = worker.Jit;
            var compiled = after is { } a && before is { } b ? a.Methods - b.Methods : (long?)null;
            var jitMs = after is { } a2 && before is { } b2 ? a2.Milliseconds - b2.Milliseconds : (double?)null;
            Progress.Write(string.Create(CultureInfo.InvariantCulture,
                $"{label}: warm-up round {round}, {plan.RoundSize} events in {roundClock.Elapsed.TotalSeconds:F1} s: the worker compiled {compiled?.ToString(CultureInfo.InvariantCulture) ?? "?"} methods, {jitMs?.ToString("F0", CultureInfo.InvariantCulture) ?? "?"} ms of JIT"));
            return compiled;
        });
        return (long)rounds * plan.RoundSize;
    }

    /// <summary>What the worker's JIT did between two readings, for the scenario's report.</summary>
    internal static string JitDuring((long Methods, double Milliseconds)? before, (long Methods, double Milliseconds)? after) =>
        before is { } b && after is { } a
            ? string.Create(CultureInfo.InvariantCulture, $"the worker compiled {a.Methods - b.Methods} methods during the measured phase, {a.Milliseconds - b.Milliseconds:F0} ms of JIT")
            : "the worker's JIT could not be read";

    internal static async Task WaitForRunsAsync(BenchStorage storage, WorkerProcess worker, long expected, string label)
    {
        var stallLimit = TimeSpan.FromSeconds(120);
        var lastProgress = Stopwatch.StartNew();
        var lastReport = Stopwatch.StartNew();
        long seen = -1;
        while (true)
        {
            worker.ThrowIfExited();
            var counts = await storage.CountRunsAsync(CancellationToken.None);
            if (counts.FailedOrSkipped > 0)
            {
                throw new InvalidOperationException($"{label}: {counts.FailedOrSkipped} runs failed or were skipped; see {worker.LogPath}");
            }

            if (counts.Succeeded >= expected)
            {
                return;
            }

            if (counts.Succeeded != seen)
            {
                seen = counts.Succeeded;
                lastProgress.Restart();
            }
            else if (lastProgress.Elapsed > stallLimit)
            {
                throw new TimeoutException($"{label}: no run finished for {stallLimit.TotalSeconds:F0} s ({counts.Succeeded} of {expected} succeeded, {counts.Unfinished} unfinished); see {worker.LogPath}");
            }

            if (lastReport.Elapsed > TimeSpan.FromSeconds(10))
            {
                Progress.Write($"{label}: {counts.Succeeded} of {expected} runs succeeded");
                lastReport.Restart();
            }

            await Task.Delay(1000);
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Progress and diagnostics go to stderr; stdout carries only the result lines.</summary>
internal static class Progress
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static void Write(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[bench {Clock.Elapsed.TotalSeconds,6:F1}s] {message}"));
}
