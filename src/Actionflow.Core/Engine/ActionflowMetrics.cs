using System.Diagnostics.Metrics;

namespace Actionflow.Core.Engine;

/// <summary>
/// Counters of the meter <c>Actionflow</c> (read them with <c>dotnet-counters monitor -n actionflow --counters Actionflow</c>
/// or any OpenTelemetry metrics exporter).
/// </summary>
public static class ActionflowMetrics
{
    public const string MeterName = "Actionflow";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> DeadLetteredCounter =
        Meter.CreateCounter<long>("actionflow.messages.dead_lettered", "{message}", "Messages moved to the dead letters, by logical queue");

    private static readonly Counter<long> RunsEndedCounter =
        Meter.CreateCounter<long>("actionflow.action_runs.ended", "{run}", "Action run attempts ended, by status (succeeded, failed, skipped, retrying)");

    private static readonly Histogram<double> ScheduleLagHistogram =
        Meter.CreateHistogram<double>("actionflow.schedule.lag", "ms", "Time from a schedule's tick to its fire (its time_trigger event committed)");

    private static readonly Counter<long> WindowRunsCounter =
        Meter.CreateCounter<long>("actionflow.window.runs", "{run}", "Runs started by windows closing, by mode (batch, debounce, throttle)");

    private static readonly Counter<long> WindowSkippedCounter =
        Meter.CreateCounter<long>("actionflow.window.skipped", "{event}", "Events a window left out (debounced, throttled)");

    private static readonly Counter<long> GroupCommitBatchesCounter =
        Meter.CreateCounter<long>("actionflow.group_commit.batches", "{transaction}", "Batches a group commit flushed, by commit (accepts, claims, completions, queue_acks) and size (1, 2, 3-4, 5-8, ... 129-256)");

    private static readonly Counter<long> GroupCommitItemsCounter =
        Meter.CreateCounter<long>("actionflow.group_commit.items", "{item}", "Items those batches held, by the same commit and size");

    // Powers of two: a histogram whose buckets are tags, so that a reader over EventPipe sums exact counts per bucket.
    private static readonly string[] BatchSizeBuckets = ["1", "2", "3-4", "5-8", "9-16", "17-32", "33-64", "65-128", "129-256", "257+"];

    public static void ScheduleFired(double lagMs) => ScheduleLagHistogram.Record(lagMs);

    /// <summary>A group commit flushed <paramref name="size"/> items in one transaction (the attempt: a failed batch is retried item by item).</summary>
    public static void GroupCommitFlushed(string commit, int size)
    {
        if (!GroupCommitBatchesCounter.Enabled)
        {
            return;
        }

        var bucket = BatchSizeBuckets[size <= 1 ? 0 : Math.Min(1 + System.Numerics.BitOperations.Log2((uint)(size - 1)), BatchSizeBuckets.Length - 1)];
        var commitTag = new KeyValuePair<string, object?>("commit", commit);
        var sizeTag = new KeyValuePair<string, object?>("size", bucket);
        GroupCommitBatchesCounter.Add(1, commitTag, sizeTag);
        GroupCommitItemsCounter.Add(size, commitTag, sizeTag);
    }

    public static void WindowRuns(int runs, int skipped)
    {
        if (runs > 0)
        {
            WindowRunsCounter.Add(runs);
        }

        if (skipped > 0)
        {
            WindowSkippedCounter.Add(skipped);
        }
    }

    public static void DeadLettered(string queue) => DeadLetteredCounter.Add(1, new KeyValuePair<string, object?>("queue", queue));

    public static void RunEnded(string status) => RunsEndedCounter.Add(1, new KeyValuePair<string, object?>("status", status));
}
