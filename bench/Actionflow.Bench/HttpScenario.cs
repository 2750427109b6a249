using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Actionflow.Sdk;

namespace Actionflow.Bench;

/// <summary>
/// Events through the HTTP API (<c>POST /api/v1/project/{project}/events</c>, an Editor API key as Bearer), from a load
/// client of its own: <c>--connections</c> requests in flight at all times, each connection sending its next request as
/// soon as the previous one is answered (a closed loop, like wrk). Measured: accepted events per second (first request
/// sent → last 202) and the latency from sending a request to its 202. Every accepted event must then end as exactly one
/// succeeded run.
/// </summary>
internal static class HttpScenario
{
    private const long WarmupFirstId = 1_000_000_000;

    public static async Task<(Measurement, double)> RunAsync(ScenarioPlan plan, BenchOptions options, string outDir, string database, string? broker, string? sqliteDir)
    {
        await using var storage = new BenchStorage(database);
        await storage.MigrateAsync();
        var warmupProject = (await storage.CreateProjectsAsync("warmup", 1))[0];
        var project = (await storage.CreateProjectsAsync(plan.Name, 1))[0];
        await storage.CreateWorkflowsAsync([
            new WorkflowSpec(warmupProject, "warmup", ScenarioRunner.ChainSteps(1)),
            new WorkflowSpec(project, plan.Name, ScenarioRunner.ChainSteps(1)),
        ]);
        var warmupTarget = new Target(await storage.ProjectStringIdAsync(warmupProject), await storage.CreateApiKeyAsync(warmupProject));
        var target = new Target(await storage.ProjectStringIdAsync(project), await storage.CreateApiKeyAsync(project));

        await using var worker = await WorkerProcess.StartAsync(
            ScenarioRunner.WorkerEnvironment(options, database, broker, sqliteDir),
            Path.Combine(outDir, $"{plan.Name}.worker.log"), Path.Combine(outDir, $"{plan.Name}.rss.csv"));
        Progress.Write($"{plan.Name}: worker pid {worker.Id} ready, {options.Connections} connections");
        await Task.Delay(1500);

        using var client = new LoadClient(worker.BaseAddress, options.Connections);
        var warmupEvents = await ScenarioRunner.WarmUpAsync(
            options, storage, worker, 1, plan.Name, (first, count) => client.RunAsync(warmupTarget, WarmupFirstId + first, count, null));

        if (await storage.AnalyzeAsync() is { } analyzed)
        {
            Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{plan.Name}: ANALYZE after the warm-up took {analyzed:F1} s"));
        }

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
        var duration = options.Duration is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        await using var profile = options.Profile ? CpuProfile.TryStart(worker.Id, Path.Combine(outDir, $"{plan.Name}.nettrace")) : null;
        var result = await client.RunAsync(target, 1, duration is null ? plan.Events : int.MaxValue, duration);
        var cpuAfter = CpuSplit.Take(scope);
        var dbAfter = await storage.ReadDatabaseCountersAsync();
        var accepted = result.LatenciesMs.Length;

        var drain = Stopwatch.StartNew();
        await ScenarioRunner.WaitForRunsAsync(storage, worker, warmupEvents + (long)accepted, plan.Name);
        var (runs, events) = await storage.CountSucceededAsync(project);
        if (runs != accepted || events != accepted)
        {
            throw new InvalidOperationException($"{plan.Name}: {accepted} events accepted, but {runs} succeeded runs of {events} events");
        }

        // After the drain: the runs of the accepted events are the worker's work as much as the 202s are.
        var allocatedAfter = await worker.AllocatedBytesAsync();
        if (groupCommitsBefore is not null && worker.GroupCommits is { } groupCommitsAfter)
        {
            Progress.Write($"{plan.Name}: {GroupCommitHistogram.Describe(groupCommitsBefore, groupCommitsAfter, accepted)}");
        }

        Progress.Write($"{plan.Name}: {ScenarioRunner.JitDuring(jitBefore, worker.Jit)}");
        if (sqliteDir is null && commandsBefore is { } commandsFrom && worker.PostgresCommands is { } commandsTo)
        {
            Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{plan.Name}: worker round trips to PostgreSQL per accepted event (its runs included): {(commandsTo - commandsFrom) / (double)Math.Max(accepted, 1):F2}"));
        }

        if (profile is not null)
        {
            await profile.StopAsync();
            var table = CpuProfile.Table(profile.Path);
            await File.WriteAllTextAsync(Path.ChangeExtension(profile.Path, ".cpu.md"), table);
            Progress.Write($"{plan.Name}: CPU profile over the requests and the drain ({profile.Path}):\n{table}");
        }

        Progress.Write($"{plan.Name}: {accepted} accepted in {result.Seconds:F2} s, every one ran exactly once ({drain.Elapsed.TotalSeconds:F1} s after the last 202); " +
                       CpuSplit.Describe(cpuBefore, cpuAfter, result.Seconds, accepted));
        if (dbBefore is not null && dbAfter is not null)
        {
            Progress.Write($"{plan.Name}: PostgreSQL {dbAfter.PerEvent(dbBefore, accepted)}");
        }

        return (new Measurement(accepted, runs, result.Seconds, result.LatenciesMs)
        {
            AllocatedKbPerEvent = WorkerProcess.KbPerEvent(allocatedBefore, allocatedAfter, accepted),
        }, worker.PeakRssBytes / 1048576.0);
    }

    private sealed record Target(string ProjectStringId, string Secret);

    private sealed record LoadResult(double Seconds, double[] LatenciesMs);

    /// <summary>A closed-loop HTTP/1.1 load client: one request in flight per connection, keep-alive.</summary>
    private sealed class LoadClient(Uri baseAddress, int connections) : IDisposable
    {
        private readonly HttpClient _http = new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
        })
        { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

        /// <summary>Sends up to <paramref name="count"/> events (ids from <paramref name="firstId"/>), or for <paramref name="duration"/>.</summary>
        public async Task<LoadResult> RunAsync(Target target, long firstId, int count, TimeSpan? duration)
        {
            var path = $"api/v1/project/{target.ProjectStringId}/events";
            var auth = new AuthenticationHeaderValue("Bearer", target.Secret);
            var latencies = new List<double>[connections];
            var next = -1;
            var lastAnswer = 0L;
            var started = Stopwatch.GetTimestamp();
            var stopAt = duration is { } d ? started + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
            {
                var mine = latencies[c] = new List<double>(duration is null ? count / connections + 1 : 4096);
                int i;
                while ((i = Interlocked.Increment(ref next)) < count && Stopwatch.GetTimestamp() < stopAt)
                {
                    var id = firstId + i;
                    using var request = new HttpRequestMessage(HttpMethod.Post, path)
                    {
                        Content = new ByteArrayContent(HttpEventFeed.Body(id, EventKinds.InputFileUploaded)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
                    };
                    request.Headers.Authorization = auth;
                    var sent = Stopwatch.GetTimestamp();
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                    var answered = Stopwatch.GetTimestamp();
                    if (response.StatusCode != HttpStatusCode.Accepted)
                    {
                        throw new InvalidOperationException($"event {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }

                    mine.Add(Stopwatch.GetElapsedTime(sent, answered).TotalMilliseconds);
                    InterlockedMax(ref lastAnswer, answered);
                }
            })));
            var seconds = Stopwatch.GetElapsedTime(started, Math.Max(lastAnswer, started)).TotalSeconds;
            return new LoadResult(seconds, [.. latencies.SelectMany(l => l)]);
        }

        private static void InterlockedMax(ref long target, long value)
        {
            long seen;
            while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }

        public void Dispose() => _http.Dispose();
    }
}
