using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Actionflow.Bench;

/// <summary>
/// The actionflow executable as its own process, configured through environment variables as users run it; its
/// output goes to a log file, and its resident memory is sampled every 100 ms.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly StreamWriter _memory;
    private readonly Lock _logLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly Uri _baseAddress;
    private readonly long _startTicks = Stopwatch.GetTimestamp();

    private WorkerProcess(Process process, Uri baseAddress, string logPath, string memoryPath)
    {
        _process = process;
        _baseAddress = baseAddress;
        _log = new StreamWriter(logPath) { AutoFlush = false };
        _memory = new StreamWriter(memoryPath);
        _memory.WriteLine("seconds,rss_mb");
        _sampler = Task.Run(SampleAsync);
    }

    public int Id => _process.Id;

    /// <summary>Where the worker's HTTP API listens (loopback, a free port).</summary>
    public Uri BaseAddress => _baseAddress;

    public long PeakRssBytes { get; private set; }

    private AllocationMeter? _allocations;

    /// <summary>Bytes the worker has allocated since it became ready (its runtime's counter); null when it cannot be read.</summary>
    public async Task<long?> AllocatedBytesAsync() => _allocations is { } meter ? await meter.ReadAsync() : null;

    /// <summary>The worker's JIT (<see cref="AllocationMeter.Jit"/>), as of the last <see cref="AllocatedBytesAsync"/>; null when it cannot be read.</summary>
    public (long Methods, double Milliseconds)? Jit => _allocations?.Jit;

    /// <summary>Commands and batches (round trips) the worker sent to PostgreSQL, as of the last <see cref="AllocatedBytesAsync"/>.</summary>
    public long? PostgresCommands => _allocations?.Commands;

    /// <summary>The group commits' batches and items by (instrument, tags), as of the last <see cref="AllocatedBytesAsync"/>.</summary>
    public IReadOnlyDictionary<(string Instrument, string Tags), long>? GroupCommits => _allocations?.GroupCommits();

    /// <summary>The worker's GC over a window of UTC ticks (<see cref="AllocationMeter.Gc"/>); null when it cannot be read.</summary>
    public GcActivity? Gc(long fromUtcTicks, long toUtcTicks) => _allocations?.Gc(fromUtcTicks, toUtcTicks);

    /// <summary>Kilobytes the worker allocated per event between two readings of <see cref="AllocatedBytesAsync"/>.</summary>
    public static double? KbPerEvent(long? before, long? after, int events) =>
        before is { } b && after is { } a && events > 0 ? (a - b) / 1024.0 / events : null;

    public string LogPath { get; private set; } = "";

    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string> environment, string logPath, string memoryPath)
    {
        var port = FreePort();
        var host = BenchEnvironment.HostAssembly;
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(host)!,
        };
        psi.ArgumentList.Add(host);
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start actionflow");
        var worker = new WorkerProcess(process, new Uri($"http://127.0.0.1:{port}/"), logPath, memoryPath) { LogPath = logPath };
        process.OutputDataReceived += (_, e) => worker.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await worker.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        worker._allocations = AllocationMeter.TryStart(process.Id);
        return worker;
    }

    public void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"the worker exited with {_process.ExitCode}; see {LogPath}");
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            ThrowIfExited();
            try
            {
                using var response = await Http.GetAsync(new Uri(_baseAddress, "health/ready"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the worker was not ready within {timeout}; see {LogPath}");
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                if (ReadRssBytes(_process.Id) is { } rss)
                {
                    PeakRssBytes = Math.Max(PeakRssBytes, rss);
                    var seconds = Stopwatch.GetElapsedTime(_startTicks).TotalSeconds;
                    _memory.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{seconds:F1},{rss / 1048576.0:F1}"));
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>VmRSS of /proc/<paramref name="pid"/>/status; null once the process is gone.</summary>
    private static long? ReadRssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.WriteLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_allocations is not null)
        {
            await _allocations.DisposeAsync();
        }

        if (!_process.HasExited)
        {
            try
            {
                await BenchEnvironment.RunAsync("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        await _stop.CancelAsync();
        await _sampler;
        _process.WaitForExit();
        lock (_logLock)
        {
            _log.Dispose();
        }

        await _memory.DisposeAsync();
        _stop.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
