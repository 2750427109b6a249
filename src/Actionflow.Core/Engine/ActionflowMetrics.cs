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

    public static void ScheduleFired(double lagMs) => ScheduleLagHistogram.Record(lagMs);

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
