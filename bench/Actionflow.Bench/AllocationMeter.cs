using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Actionflow.Bench;

/// <summary>
/// The bytes a worker process has allocated, read from outside over EventPipe as dotnet-counters reads them: the
/// runtime's <c>alloc-rate</c> counter (<c>System.Runtime</c>) reports, every interval, what
/// <c>GC.GetTotalAllocatedBytes</c> grew by, and the sum of those increments is the total since the session began.
/// The worker needs no change and no flag. Npgsql's <c>commands-per-second</c> counter is summed the same way: one
/// per command or batch the worker executed, so one per round trip to PostgreSQL. The group commits' batches by size
/// (<c>actionflow.group_commit.*</c>, meter <c>Actionflow</c>) come over the same session from the runtime's
/// <c>System.Diagnostics.Metrics</c> source, as <c>dotnet-counters</c> reads a meter: each report is a counter's
/// growth since the previous one, summed here per (commit, size).
/// </summary>
internal sealed class AllocationMeter : IAsyncDisposable
{
    private const double IntervalSeconds = 0.2;
    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Task _reader;
    private long _total;
    private long _commands;
    private long _jitted;
    private double _jitMs;
    private long _ticks;
    private readonly Dictionary<(string Instrument, string Tags), long> _groupCommits = [];
    private readonly List<GcReport> _gc = [];

    private AllocationMeter(EventPipeSession session)
    {
        _session = session;
        _source = new EventPipeEventSource(session.EventStream);
        _source.Dynamic.All += OnEvent;
        _reader = Task.Run(() => _source.Process());
    }

    /// <summary>A meter on process <paramref name="pid"/>; null (with the reason on stderr) when EventPipe is not reachable.</summary>
    public static AllocationMeter? TryStart(int pid)
    {
        try
        {
            EventPipeProvider Counters(string source) => new(
                source,
                EventLevel.Informational,
                (long)EventKeywords.None,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["EventCounterIntervalSec"] = IntervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            var metrics = new EventPipeProvider(
                "System.Diagnostics.Metrics",
                EventLevel.Informational,
                0x2, // TimeSeriesValues
                new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["SessionId"] = Guid.NewGuid().ToString("N"),
                    ["Metrics"] = "Actionflow",
                    ["RefreshInterval"] = IntervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            var session = new DiagnosticsClient(pid).StartEventPipeSession([Counters("System.Runtime"), Counters("Npgsql"), metrics], requestRundown: false);
            return new AllocationMeter(session);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException or IOException or TimeoutException)
        {
            Progress.Write($"worker {pid}: no allocation counter ({ex.Message})");
            return null;
        }
    }

    /// <summary>
    /// Bytes allocated from the session's start until now: waits for the interval running now to be reported, so a
    /// reading taken while the worker is idle (before and after a scenario's events) counts everything before it.
    /// </summary>
    public async Task<long> ReadAsync()
    {
        var start = Volatile.Read(ref _ticks);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref _ticks) < start + 2)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the worker's allocation counter stopped reporting");
            }

            await Task.Delay(20);
        }

        return Volatile.Read(ref _total);
    }

    /// <summary>Methods the worker's JIT compiled since it began, and milliseconds it spent compiling since the session began, as of the last <see cref="ReadAsync"/>.</summary>
    public (long Methods, double Milliseconds) Jit
    {
        get
        {
            lock (_gc)
            {
                return (Volatile.Read(ref _jitted), _jitMs);
            }
        }
    }

    /// <summary>Commands and batches the worker sent to PostgreSQL since the session began, as of the last <see cref="ReadAsync"/>.</summary>
    public long Commands => Volatile.Read(ref _commands);

    /// <summary>Batches and items per (instrument, tags) of the group commits since the session began, as of the last <see cref="ReadAsync"/>.</summary>
    public Dictionary<(string Instrument, string Tags), long> GroupCommits()
    {
        lock (_groupCommits)
        {
            return new Dictionary<(string Instrument, string Tags), long>(_groupCommits);
        }
    }

    /// <summary>
    /// The worker's collections and time paused by the GC in the reports whose interval overlaps
    /// [<paramref name="fromUtcTicks"/>, <paramref name="toUtcTicks"/>] (each report covers the interval before its
    /// time stamp, so the window is widened by one interval at its end).
    /// </summary>
    public GcActivity Gc(long fromUtcTicks, long toUtcTicks)
    {
        var end = toUtcTicks + TimeSpan.FromSeconds(IntervalSeconds).Ticks;
        double paused = 0, longest = 0;
        long gen0 = 0, gen1 = 0, gen2 = 0;
        lock (_gc)
        {
            foreach (var r in _gc.Where(r => r.UtcTicks >= fromUtcTicks && r.UtcTicks <= end))
            {
                switch (r.Name)
                {
                    case "total-pause-time-by-gc":
                        paused += r.Increment;
                        longest = Math.Max(longest, r.Increment);
                        break;
                    case "gen-0-gc-count":
                        gen0 += (long)r.Increment;
                        break;
                    case "gen-1-gc-count":
                        gen1 += (long)r.Increment;
                        break;
                    case "gen-2-gc-count":
                        gen2 += (long)r.Increment;
                        break;
                }
            }
        }

        return new GcActivity(gen0, gen1, gen2, paused, longest);
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.EventName == "CounterRateValuePublished"
            && e.PayloadByName("instrumentName") is string instrument
            && instrument.StartsWith("actionflow.group_commit.", StringComparison.Ordinal)
            && e.PayloadByName("tags") is string tags
            && double.TryParse(e.PayloadByName("rate") as string, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var delta))
        {
            lock (_groupCommits)
            {
                _groupCommits[(instrument, tags)] = _groupCommits.GetValueOrDefault((instrument, tags)) + (long)delta;
            }

            return;
        }

        if (e.EventName != "EventCounters"
            || e.PayloadValue(0) is not IDictionary<string, object> outer
            || !outer.TryGetValue("Payload", out var inner)
            || inner is not IDictionary<string, object> fields
            || !fields.TryGetValue("Name", out var name))
        {
            return;
        }

        // The methods the JIT has compiled since the process began: a gauge (its mean over the interval), not a rate.
        if (name is "methods-jitted-count" && fields.TryGetValue("Mean", out var mean))
        {
            Interlocked.Exchange(ref _jitted, (long)Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        if (!fields.TryGetValue("Increment", out var increment))
        {
            return;
        }

        if (name is "time-in-jit")
        {
            lock (_gc)
            {
                _jitMs += Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
            }

            return;
        }

        var value = (long)Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
        if (name is "total-pause-time-by-gc" or "gen-0-gc-count" or "gen-1-gc-count" or "gen-2-gc-count")
        {
            var amount = Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
            if (amount > 0)
            {
                lock (_gc)
                {
                    _gc.Add(new GcReport(e.TimeStamp.ToUniversalTime().Ticks, (string)name, amount));
                }
            }

            return;
        }

        switch (name as string)
        {
            case "alloc-rate":
                Interlocked.Add(ref _total, value);
                Interlocked.Increment(ref _ticks);
                break;
            case "commands-per-second":
                Interlocked.Add(ref _commands, value);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException or EndOfStreamException)
        {
            // The worker is gone already: its pipe closed with it.
        }

        try
        {
            await _reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or EndOfStreamException or ObjectDisposedException)
        {
        }

        _source.Dispose();
        _session.Dispose();
    }
}

internal readonly record struct GcReport(long UtcTicks, string Name, double Increment);

/// <summary>Collections by generation and milliseconds paused (in all, and the most in one report's interval).</summary>
internal readonly record struct GcActivity(long Gen0, long Gen1, long Gen2, double PausedMs, double LongestIntervalPauseMs)
{
    public string Describe() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"GC paused {PausedMs:F1} ms (most in one 0.2 s interval {LongestIntervalPauseMs:F1} ms); collections gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}");
}
