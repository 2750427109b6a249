using System.Globalization;

namespace Actionflow.Bench;

/// <summary>What one scenario measured: events, runs, elapsed seconds and per-event latency in milliseconds.</summary>
internal sealed record Measurement(int Events, long Runs, double Seconds, double[] LatenciesMs)
{
    public double EventsPerSecond => Seconds > 0 ? Events / Seconds : 0;

    /// <summary>Nearest-rank percentile.</summary>
    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var sorted = _sorted ??= [.. LatenciesMs.Order()];
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private double[]? _sorted;

    /// <summary>The worker's allocated kilobytes per event over the measured phase (its runtime's counter); null when not read.</summary>
    public double? AllocatedKbPerEvent { get; init; }

    /// <summary><c> alloc_kb_per_event=...</c>, or nothing when the figure was not read.</summary>
    public static string AllocationField(double? kbPerEvent) =>
        kbPerEvent is { } kb ? string.Create(CultureInfo.InvariantCulture, $" alloc_kb_per_event={kb:F1}") : "";

    public string Line(string scenario, double peakRssMb, double baselineEventsPerSecond) => string.Create(
        CultureInfo.InvariantCulture,
        $"scenario={scenario} events={Events} runs={Runs} seconds={Seconds:F2} events_per_s={EventsPerSecond:F1} " +
        $"p50_ms={Percentile(50):F2} p95_ms={Percentile(95):F2} p99_ms={Percentile(99):F2} max_ms={Percentile(100):F2} " +
        $"peak_rss_mb={peakRssMb:F0} baseline_events_per_s={baselineEventsPerSecond:F1} " +
        $"ratio_to_baseline={(baselineEventsPerSecond > 0 ? EventsPerSecond / baselineEventsPerSecond : 0):F3}") + AllocationField(AllocatedKbPerEvent);
}
