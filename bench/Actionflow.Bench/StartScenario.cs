using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Actionflow.Bench;

/// <summary>
/// <c>--scenario start</c>: milliseconds from starting <c>dotnet actionflow.dll</c> (as the other scenarios start it) to
/// the first 200 from <c>/health/ready</c>, for four cases, against the start of a bare ASP.NET Core app that answers
/// the same route (bench/Actionflow.Bench.StartBaseline): the ratio says what part of the start is ours. Each round
/// starts every case once, in the same order, so a change in the machine's load hits all of them alike.
/// </summary>
internal static class StartScenario
{
    public const string Name = "start";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private static readonly string[] Cases = ["start-embedded-new", "start-embedded-existing", "start-postgres-new", "start-postgres-existing"];

    public static async Task<bool> RunAsync(BenchOptions options, string outDir)
    {
        var rounds = options.Rounds;
        var baselineDll = Path.Combine(BenchEnvironment.RepositoryRoot, "bench", "Actionflow.Bench.StartBaseline", "bin", "Release", "net10.0", "Actionflow.Bench.StartBaseline.dll");
        var samples = new Dictionary<string, List<double>>(StringComparer.Ordinal) { ["start-baseline"] = [] };
        foreach (var name in Cases)
        {
            samples[name] = [];
        }

        // The existing databases: migrated by a first, unmeasured start of the host itself (which also warms the disk cache).
        var existingDir = NewTempDirectory();
        var existingDatabase = await BenchEnvironment.CreateDatabaseAsync("start");
        var existingBroker = await BenchEnvironment.CreateVirtualHostAsync("start");
        var created = new List<(string Database, string Broker)>();
        try
        {
            var log = Path.Combine(outDir, "start-prepare.log");
            await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, EmbeddedDatabase(existingDir), null, existingDir), log);
            await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, existingDatabase, existingBroker, null), log);
            await TimeStartAsync(baselineDll, new Dictionary<string, string>(), log);

            for (var round = 1; round <= rounds; round++)
            {
                string Log(string name) => Path.Combine(outDir, string.Create(CultureInfo.InvariantCulture, $"{name}.{round}.log"));
                samples["start-baseline"].Add(await TimeStartAsync(baselineDll, new Dictionary<string, string>(), Log("start-baseline")));

                var newDir = NewTempDirectory();
                try
                {
                    samples["start-embedded-new"].Add(await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, EmbeddedDatabase(newDir), null, newDir), Log("start-embedded-new")));
                }
                finally
                {
                    TryDeleteDirectory(newDir);
                }

                samples["start-embedded-existing"].Add(await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, EmbeddedDatabase(existingDir), null, existingDir), Log("start-embedded-existing")));

                var fresh = (await BenchEnvironment.CreateDatabaseAsync("start"), await BenchEnvironment.CreateVirtualHostAsync("start"));
                created.Add(fresh);
                samples["start-postgres-new"].Add(await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, fresh.Item1, fresh.Item2, null), Log("start-postgres-new")));

                samples["start-postgres-existing"].Add(await TimeStartAsync(BenchEnvironment.HostAssembly, Environment(options, existingDatabase, existingBroker, null), Log("start-postgres-existing")));
                Progress.Write(string.Create(CultureInfo.InvariantCulture, $"start: round {round}: {string.Join(", ", samples.Select(s => $"{s.Key} {s.Value[^1]:F0} ms"))}"));
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"scenario={Name} error: {ex}");
            return false;
        }
        finally
        {
            if (!options.Keep)
            {
                TryDeleteDirectory(existingDir);
                foreach (var (database, broker) in created.Append((existingDatabase, existingBroker)))
                {
                    await BenchEnvironment.DropDatabaseAsync(database);
                    await BenchEnvironment.DeleteVirtualHostAsync(broker);
                }
            }
        }

        var baseline = Median(samples["start-baseline"]);
        foreach (var (name, values) in samples)
        {
            var median = Median(values);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"scenario={name} rounds={values.Count} min_ms={values.Min():F0} p50_ms={median:F0} max_ms={values.Max():F0} " +
                $"baseline_p50_ms={baseline:F0} ratio_to_baseline={(baseline > 0 ? median / baseline : 0):F2}"));
        }

        return true;
    }

    /// <summary>Starts <paramref name="dll"/>, polls <c>/health/ready</c> every 10 ms until it answers 200, stops it (SIGTERM) and returns the milliseconds to that answer.</summary>
    private static async Task<double> TimeStartAsync(string dll, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var ready = new Uri($"http://127.0.0.1:{port}/health/ready");
        await using var log = new StreamWriter(logPath, append: true);
        var logLock = new Lock();
        void Capture(string? line)
        {
            if (line is not null)
            {
                lock (logLock)
                {
                    log.WriteLine(line);
                }
            }
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{Path.GetFileName(dll)} exited with {process.ExitCode} before it was ready; see {logPath}");
                }

                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(120))
                {
                    throw new TimeoutException($"{Path.GetFileName(dll)} was not ready within 120 s; see {logPath}");
                }

                try
                {
                    using var response = await Http.GetAsync(ready);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                await Task.Delay(10);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                await BenchEnvironment.RunAsync("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
                try
                {
                    await process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            await process.WaitForExitAsync();
        }
    }

    private static Dictionary<string, string> Environment(BenchOptions options, string database, string? broker, string? sqliteDir) =>
        ScenarioRunner.WorkerEnvironment(options, database, broker, sqliteDir);

    private static string EmbeddedDatabase(string dir) => $"Data Source={Path.Combine(dir, "actionflow.db")}";

    private static string NewTempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actionflow-bench-start-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void TryDeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
