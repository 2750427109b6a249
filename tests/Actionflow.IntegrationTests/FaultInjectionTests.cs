using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests;

/// <summary>
/// Publishes a known set of events to a two-step workflow (a signed Webhook to a real receiver, then noop) while
/// faults are injected, and checks the outcome: lost = events without both runs terminal, duplicated = a step whose
/// side effect reached the receiver under two different webhook-ids, stuck = runs not terminal 60 s after the load.
/// Each scenario prints one line. ACTIONFLOW_FAULT_EVENTS sizes them (default 5,000).
/// </summary>
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    private const string Secret = "fault-injection-secret";
    private static readonly int Events = int.TryParse(Environment.GetEnvironmentVariable("ACTIONFLOW_FAULT_EVENTS"), out var n) ? n : 5000;

    [Fact]
    public async Task KillWorkers_FiveTimesDuringLoadWithTwoWorkers_NothingLostDuplicatedOrStuck()
    {
        await RunScenarioAsync("kill -9 worker x5", "hook", async (pipeline, workers, load) =>
        {
            var faults = 0;
            var random = new Random(7);
            while (!load.IsCompleted || faults < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(1500, 4000)));
                var victim = random.Next(workers.Count);
                workers[victim].Kill();
                faults++;
                workers[victim] = await pipeline.StartWorkerAsync();
                if (faults >= 5)
                {
                    break;
                }
            }

            return faults;
        });
    }

    [Fact]
    public async Task RestartRabbitMq_DuringLoad_NothingLostDuplicatedOrStuck()
    {
        await RunScenarioAsync("rabbitmq stop+start", "hook", async (_, _, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            await TestEnvironment.RunAsync("bash", Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "rabbitmq-restart.sh"), "--mode", "app", "--down", "5");
            return 1;
        });
    }

    [Fact]
    public async Task RestartPostgres_DuringLoad_NothingLostDuplicatedOrStuck()
    {
        await RunScenarioAsync("postgresql stop+start", "hook", async (_, _, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            await TestEnvironment.RunAsync("pg_ctlcluster", "15", "main", "stop", "-m", "fast");
            await Task.Delay(TimeSpan.FromSeconds(5));
            await TestEnvironment.StartDaemonAsync("pg_ctlcluster", "15", "main", "start");
            Npgsql.NpgsqlConnection.ClearAllPools();
            return 1;
        });
    }

    [Fact]
    public async Task FlakyReceiver_30PercentFailAnd5PercentTimeOut_NothingLostDuplicatedOrStuck()
    {
        await RunScenarioAsync("receiver 30% 503 + 5% timeout", "flaky", (_, _, load) => Task.FromResult(0));
    }

    [Fact]
    public async Task MalformedMessages_500MixedInto5000_AllGoodOnesRunAndBadOnesAreDeadLettered()
    {
        var bad = Events / 10;
        await RunScenarioAsync($"{bad} malformed messages", "hook", (_, _, _) => Task.FromResult(bad), malformed: bad);
    }

    private async Task RunScenarioAsync(string name, string path, Func<Pipeline, List<ActionflowProcess>, Task, Task<int>> inject, int malformed = 0)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var workers = new List<ActionflowProcess> { await pipeline.StartWorkerAsync(), await pipeline.StartWorkerAsync() };
        var project = await pipeline.CreateProjectAsync("faults");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, name, true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url(path), ["secret"] = Secret, ["timeout_seconds"] = 1 }, null),
            ("noop", "action_completed", new JsonObject(), null));
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var first = await db.Set<WorkflowAction>().SingleAsync(a => a.WorkflowId == workflow.Id && a.Ordinal == 0);
            first.RetryPolicy = new JsonObject { ["max_attempts"] = 12, ["initial_delay_ms"] = 200, ["factor"] = 2, ["max_delay_ms"] = 2000 };
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        var bodies = new List<byte[]>();
        var random = new Random(11);
        for (var i = 1; i <= Events; i++)
        {
            bodies.Add(Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: i).ToJsonString()));
            if (malformed > 0 && random.Next(Events) < malformed && bodies.Count(IsMalformed) < malformed)
            {
                bodies.Add(Encoding.UTF8.GetBytes(random.Next(3) switch { 0 => "{\"kind\": ", 1 => "{\"project_id\": 1}", _ => "[]" }));
            }
        }

        while (bodies.Count(IsMalformed) < malformed)
        {
            bodies.Add("not json"u8.ToArray());
        }

        var clock = Stopwatch.StartNew();
        var load = pipeline.PublishManyAsync(bodies);
        var faults = await inject(pipeline, workers, load);
        await load;
        var loadEnded = clock.Elapsed;

        var steps = await pipeline.StepsAsync(workflow.Id);
        var drained = await Pipeline.EventuallyAsync(async () => await TerminalRunsAsync(pipeline) >= 2 * Events, TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(Events * 40));
        var drainTime = clock.Elapsed - loadEnded;

        var runs = await pipeline.RunsAsync();
        var events = (await pipeline.EventsAsync()).Where(e => e.Kind == "input_file_uploaded").ToList();
        var runsByEvent = runs.Where(r => r.ActionId == steps[0].Id).ToDictionary(r => r.EventId);
        var completedSecond = runs.Where(r => r.ActionId == steps[1].Id && r.Status == ActionRunStatus.Succeeded).Select(r => r.EventId).ToHashSet();
        var chainEvents = await ChainEventsAsync(pipeline, steps[0].Id, runsByEvent.Values);
        var lost = Events - events.Count
                   + events.Count(e => !runsByEvent.TryGetValue(e.Id, out var r) || r.Status != ActionRunStatus.Succeeded || !completedSecond.Contains(chainEvents.GetValueOrDefault(r.Id)));
        var duplicated = receiver.Deliveries
            .GroupBy(d => (long)d.Body["event"]!["source_event_id"]!)
            .Count(g => g.Select(d => d.WebhookId).Distinct().Count() > 1);
        var stuck = runs.Count(r => !r.Status.IsTerminal());
        var repeats = receiver.Deliveries.Count(d => d.StatusCode == 200) - receiver.Deliveries.Where(d => d.StatusCode == 200).Select(d => d.WebhookId).Distinct().Count();

        var line = string.Create(CultureInfo.InvariantCulture,
            $"scenario=\"{name}\" events={Events} faults={faults} lost={lost} duplicated={duplicated} stuck={stuck} drain_s={drainTime.TotalSeconds:F1} load_s={loadEnded.TotalSeconds:F1} retried_runs={runs.Count(r => r.Attempt > 1)} repeated_deliveries={repeats}");
        output.WriteLine(line);
        Report(line);
        var reasons = string.Join("; ", runs.Where(r => r.Status != ActionRunStatus.Succeeded)
            .GroupBy(r => $"{r.Status}: {r.ErrorReason}").Select(g => $"{g.Count()} x {g.Key}").Take(5));
        var missing = events.Count(e => !runsByEvent.ContainsKey(e.Id));
        line += $" | not succeeded: {reasons} | events without a first run: {missing}";
        output.WriteLine(line);

        Assert.True(drained, line + "; statuses: " + string.Join(", ", runs.GroupBy(r => r.Status).Select(g => $"{g.Key}={g.Count()}")));
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
        Assert.Equal(0, stuck);
        if (malformed > 0)
        {
            await AssertDeadLetteredAsync(pipeline, malformed);
        }
    }

    /// <summary>test.sh prints this file after the run: one line per scenario.</summary>
    private static void Report(string line)
    {
        var path = Path.Combine(TestEnvironment.RepositoryRoot, "artifacts", "fault-injection.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.AppendAllLines(path, ["FAULT-INJECTION " + line]);
    }

    private static bool IsMalformed(byte[] body) => body.Length > 0 && !body.AsSpan().StartsWith("{\"id\""u8);

    private static async Task<int> TerminalRunsAsync(Pipeline pipeline)
    {
        try
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            return await db.Set<ActionRun>().CountAsync(r => r.Status == ActionRunStatus.Succeeded || r.Status == ActionRunStatus.Failed || r.Status == ActionRunStatus.Skipped);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException)
        {
            return 0;
        }
    }

    /// <summary>For each first-step run, the id of the action_completed event it emitted (the second step's trigger).</summary>
    private static async Task<Dictionary<long, long>> ChainEventsAsync(Pipeline pipeline, long firstStepId, IEnumerable<ActionRun> firstRuns)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var completions = await db.Set<Event>().Where(e => e.Kind == "action_completed" && e.ActionId == firstStepId).Select(e => new { e.Id, e.WorkflowRunId }).ToListAsync();
        var byWorkflowRun = completions.Where(c => c.WorkflowRunId != null).GroupBy(c => c.WorkflowRunId!.Value).ToDictionary(g => g.Key, g => g.First().Id);
        return firstRuns.Where(r => byWorkflowRun.ContainsKey(r.WorkflowRunId)).ToDictionary(r => r.Id, r => byWorkflowRun[r.WorkflowRunId]);
    }

    private static async Task AssertDeadLetteredAsync(Pipeline pipeline, int expected)
    {
        var count = 0;
        await Pipeline.EventuallyAsync(async () =>
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            count = await db.Set<DeadLetter>().CountAsync();
            return count >= expected;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(expected, count);
    }
}
