using System.Globalization;
using System.Text;

namespace Actionflow.Bench;

/// <summary>
/// Where the slowest events lost their time: the events above the 99th percentile, grouped into bursts (slow events sent
/// less than <see cref="BurstGap"/> apart), each with its time into the scenario and the stage that took the most of its
/// events' latency. A stall of the worker, the broker or the database shows as a burst whose events share a stage.
/// </summary>
internal static class Stalls
{
    private static readonly TimeSpan BurstGap = TimeSpan.FromMilliseconds(100);

    /// <param name="gc">The worker's GC over a window of UTC ticks, to tell a burst that a collection paused from one it did not.</param>
    /// <param name="steal">The CPU the hypervisor took over a window of UTC ticks, as text, to tell a burst in which the machine itself did not run.</param>
    public static string Describe(
        string scenario, EventBatch batch, double[] latencies, double[] received, double[] queued, double[] executed, string lastStep,
        Func<long, long, GcActivity?>? gc = null, Func<long, long, string?>? steal = null)
    {
        if (latencies.Length < 100)
        {
            return $"{scenario}: too few events for a stall report";
        }

        var threshold = latencies.Order().ElementAt((int)Math.Ceiling(latencies.Length * 0.99) - 1);
        var slow = Enumerable.Range(0, latencies.Length).Where(i => latencies[i] >= threshold).OrderBy(i => batch.SentTicks[i]).ToList();
        string[] names = ["sent→received", $"received→{lastStep}started", $"{lastStep}started→finished"];
        int Dominant(int i) => received[i] >= queued[i] && received[i] >= executed[i] ? 0 : queued[i] >= executed[i] ? 1 : 2;

        var bursts = new List<List<int>>();
        foreach (var i in slow)
        {
            if (bursts.Count > 0 && batch.SentTicks[i] - batch.SentTicks[bursts[^1][^1]] < BurstGap.Ticks)
            {
                bursts[^1].Add(i);
            }
            else
            {
                bursts.Add([i]);
            }
        }

        var first = batch.SentTicks.Where(t => t > 0).DefaultIfEmpty().Min();
        var byStage = slow.GroupBy(Dominant).OrderByDescending(g => g.Count()).Select(g => $"{names[g.Key]} {g.Count()}");
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{scenario}: {slow.Count} events at or above p99 ({threshold:F1} ms), by the stage that took most of their time: {string.Join(", ", byStage)}; {bursts.Count} bursts");
        foreach (var burst in bursts.OrderByDescending(b => b.Max(i => latencies[i])).Take(5))
        {
            var at = TimeSpan.FromTicks(batch.SentTicks[burst[0]] - first).TotalSeconds;
            var span = TimeSpan.FromTicks(batch.SentTicks[burst[^1]] - batch.SentTicks[burst[0]]).TotalMilliseconds;
            var worst = burst.MaxBy(i => latencies[i]);
            text.Append(CultureInfo.InvariantCulture,
                $"\n  at {at:F2} s: {burst.Count} events over {span:F0} ms, worst {latencies[worst]:F1} ms (stages {received[worst]:F1} + {queued[worst]:F1} + {executed[worst]:F1} ms)");
            // From the burst's first send to its last event's finish: a pause that delayed it lies in there.
            var end = burst.Max(i => batch.SentTicks[i] + TimeSpan.FromMilliseconds(latencies[i]).Ticks);
            if (gc?.Invoke(batch.SentTicks[burst[0]], end) is { } during)
            {
                text.Append("; meanwhile ").Append(during.Describe());
            }

            if (steal?.Invoke(batch.SentTicks[burst[0]], end) is { } stolen)
            {
                text.Append("; ").Append(stolen);
            }
        }

        return text.ToString();
    }
}
