using System.Globalization;

namespace Actionflow.Bench;

/// <summary>
/// The CPU time the hypervisor took from this virtual machine (the <c>steal</c> column of <c>/proc/stat</c>, summed over
/// its cores), sampled every 10 ms while a scenario is measured, so that a latency burst can be told apart from a
/// stretch in which the machine itself was not running. Null where /proc/stat cannot be read (not Linux).
/// </summary>
internal sealed class StealTimeline : IAsyncDisposable
{
    private const double MillisecondsPerTick = 10; // USER_HZ = 100
    private readonly List<(long UtcTicks, long Steal)> _samples = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    private StealTimeline(long steal)
    {
        // The first sample now, before anything is measured: every window after this has a sample before its start.
        _samples.Add((DateTime.UtcNow.Ticks, steal));
        _sampling = Task.Run(SampleAsync);
    }

    public static StealTimeline? Start() => ReadSteal() is { } steal ? new StealTimeline(steal) : null;

    /// <summary>Milliseconds of CPU taken by the hypervisor between two UTC tick counts (all cores together), or null when not sampled then.</summary>
    public double? Stolen(long fromUtcTicks, long toUtcTicks)
    {
        lock (_lock)
        {
            // The last sample at or before the start and the first at or after the end bound the window.
            var first = _samples.FindLastIndex(s => s.UtcTicks <= fromUtcTicks);
            var last = _samples.FindIndex(s => s.UtcTicks >= toUtcTicks);
            if (first < 0 || last < 0)
            {
                return null;
            }

            return (_samples[last].Steal - _samples[first].Steal) * MillisecondsPerTick;
        }
    }

    /// <summary>The share of the machine's cores taken by the hypervisor between two UTC tick counts, as a text ("0.12 of 2 cores").</summary>
    public string? Describe(long fromUtcTicks, long toUtcTicks) =>
        Stolen(fromUtcTicks, toUtcTicks) is { } ms && toUtcTicks > fromUtcTicks
            ? string.Create(CultureInfo.InvariantCulture, $"{ms:F0} ms of CPU stolen by the hypervisor ({ms / TimeSpan.FromTicks(toUtcTicks - fromUtcTicks).TotalMilliseconds:F2} of {Environment.ProcessorCount} cores)")
            : null;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (await WaitAsync(timer))
        {
            if (ReadSteal() is { } steal)
            {
                lock (_lock)
                {
                    _samples.Add((DateTime.UtcNow.Ticks, steal));
                }
            }
        }
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The machine's cumulative steal ticks: the eighth value of the first line of /proc/stat.</summary>
    private static long? ReadSteal()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 8 } && long.TryParse(fields[8], NumberStyles.None, CultureInfo.InvariantCulture, out var steal) ? steal : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
