using System.Globalization;

namespace Actionflow.Bench;

/// <summary>One scenario's measurement in one round of <c>--rounds</c>, with that round's baseline.</summary>
internal sealed record RoundResult(string Scenario, int Round, Measurement Measurement, double PeakRssMb, double BaselineEventsPerSecond)
{
    public double RatioToBaseline => BaselineEventsPerSecond > 0 ? Measurement.EventsPerSecond / BaselineEventsPerSecond : 0;

    /// <summary>Per scenario, the median over its rounds of every figure (peak memory: the highest), in the scenario line's shape.</summary>
    public static IEnumerable<string> Summaries(IReadOnlyList<RoundResult> results, IEnumerable<string> scenarios, int rounds)
    {
        foreach (var name in scenarios.Where(s => s != "baseline"))
        {
            var runs = results.Where(r => r.Scenario == name).ToList();
            if (runs.Count == 0)
            {
                continue;
            }

            double M(Func<RoundResult, double> figure) => Median(runs.Select(figure));
            var allocation = Measurement.AllocationField(
                runs.All(r => r.Measurement.AllocatedKbPerEvent is not null) ? M(r => r.Measurement.AllocatedKbPerEvent!.Value) : null);
            yield return string.Create(
                CultureInfo.InvariantCulture,
                $"scenario={name} events={runs[0].Measurement.Events} runs={runs[0].Measurement.Runs} seconds={M(r => r.Measurement.Seconds):F2} " +
                $"events_per_s={M(r => r.Measurement.EventsPerSecond):F1} p50_ms={M(r => r.Measurement.Percentile(50)):F2} " +
                $"p95_ms={M(r => r.Measurement.Percentile(95)):F2} p99_ms={M(r => r.Measurement.Percentile(99)):F2} max_ms={M(r => r.Measurement.Percentile(100)):F2} " +
                $"peak_rss_mb={runs.Max(r => r.PeakRssMb):F0} baseline_events_per_s={M(r => r.BaselineEventsPerSecond):F1} " +
                $"ratio_to_baseline={M(r => r.RatioToBaseline):F3}{allocation} round=median rounds={runs.Count}/{rounds}");
        }
    }

    /// <summary>
    /// The rate of <paramref name="scenario"/> over that of <paramref name="reference"/>, paired within each round (both
    /// saw the same machine at nearly the same time); null unless both ran in at least one round.
    /// </summary>
    public static string? Comparison(IReadOnlyList<RoundResult> results, string scenario, string reference)
    {
        var ratios = results.Where(r => r.Scenario == scenario)
            .Join(results.Where(r => r.Scenario == reference), r => r.Round, r => r.Round,
                (s, b) => b.Measurement.EventsPerSecond > 0 ? s.Measurement.EventsPerSecond / b.Measurement.EventsPerSecond : 0)
            .ToList();
        if (ratios.Count == 0)
        {
            return null;
        }

        static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        return $"comparison={scenario}/{reference} rounds={ratios.Count} ratio_median={F(Median(ratios))} ratio_min={F(ratios.Min())} " +
            $"ratio_max={F(ratios.Max())} ratios={string.Join(',', ratios.Select(F))}";
    }

    /// <summary>The middle value; the mean of the middle two for an even count.</summary>
    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
