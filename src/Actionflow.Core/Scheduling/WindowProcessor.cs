using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Scheduling;

/// <summary>
/// Folds windowed events into their windows and closes windows, in every worker: woken when this process recorded a
/// windowed event, when the earliest window falls due, and at least every <see cref="EngineOptions.WindowPollInterval"/>
/// (for entries other workers wrote, or left behind when they died). Each pass takes a batch of keys under their locks
/// (<see cref="IWindowStore.ProcessAsync"/>); windows that close start their runs through the actions queue.
/// </summary>
public sealed partial class WindowProcessor(
    IWindowStore store, TriggerIndex index, IOutboxSignal signal, IOptions<EngineOptions> options, TimeProvider time, ILogger<WindowProcessor> logger) : BackgroundService
{
    /// <summary>Notified (<see cref="IOutboxSignal"/>) when this process recorded an event into a window.</summary>
    public const string Signal = "windows";

    /// <summary>Keys taken per pass at most.</summary>
    public const int BatchSize = 64;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await index.WaitReadyAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await Sleep.RunPassesAsync(PassAsync, (backoff, ex) => LogPassFailed(logger, (long)backoff.TotalMilliseconds, ex), signal, Signal, time, stoppingToken);
    }

    /// <summary>Folds what waits now; returns how long to sleep before the next pass.</summary>
    public async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var poll = options.Value.WindowPollInterval;
        var now = time.GetUtcNow().UtcDateTime;
        var pass = await store.ProcessAsync(now, BatchSize, StepOf, cancellationToken);
        if (pass.Runs > 0)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        ActionflowMetrics.WindowRuns(pass.Runs, pass.Skipped);
        if (pass.Keys > 0)
        {
            LogPass(logger, pass.Keys, pass.Entries, pass.Runs, pass.Skipped);
            return TimeSpan.Zero;
        }

        var next = await store.NextCloseAsync(cancellationToken);
        if (next is not { } close)
        {
            return poll;
        }

        var until = close - time.GetUtcNow().UtcDateTime;
        // Due now but not taken: another worker holds the key; look again after a short while rather than spin.
        return until <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : until < poll ? until : poll;
    }

    private WindowedStep? StepOf(long actionId) =>
        index.TryGetWindow(actionId, out var window) && index.TryGetStep(actionId, out var step)
            ? new WindowedStep(window, step.Action.WorkflowId, step.Action.Kind)
            : null;

    [LoggerMessage(1070, LogLevel.Debug, "Windows: {Keys} key(s), {Entries} event(s) folded, {Runs} run(s) started, {Skipped} event(s) left out")]
    private static partial void LogPass(ILogger logger, int keys, int entries, int runs, int skipped);

    [LoggerMessage(1071, LogLevel.Warning, "Could not fold the windows; trying again in {DelayMs} ms")]
    private static partial void LogPassFailed(ILogger logger, long delayMs, Exception exception);
}
