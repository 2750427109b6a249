using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>
/// No run stays <c>running</c> forever: a run whose worker died normally comes back with its redelivered message;
/// if none brings it back within a further lease period, this re-queues it (every worker runs it; the store's
/// conditional update makes them agree); and gives free concurrency slots to the runs waiting for them.
/// </summary>
public sealed partial class AbandonedRunSweeper(
    IPipelineStore store,
    IOutboxSignal signal,
    IOptions<EngineOptions> options,
    TimeProvider time,
    ILogger<AbandonedRunSweeper> logger,
    IConcurrencyStore? concurrency = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = options.Value.LeaseDuration;
        using var timer = new PeriodicTimer(lease, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = time.GetUtcNow().UtcDateTime;
                var requeued = await store.RequeueAbandonedRunsAsync(now - lease, now, 500, stoppingToken);
                if (requeued > 0)
                {
                    LogRequeued(logger, requeued);
                    signal.Notify(QueueNames.ActionTriggers);
                }

                // Slots a finished run could not hand on (its worker died between its end and the hand-over).
                if (concurrency is not null && await concurrency.SweepAsync(now, 100, stoppingToken) > 0)
                {
                    signal.Notify(QueueNames.ActionTriggers);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(1050, LogLevel.Warning, "Re-queued {Count} runs whose worker stopped renewing their lease")]
    private static partial void LogRequeued(ILogger logger, int count);

    [LoggerMessage(1051, LogLevel.Warning, "Could not look for abandoned runs")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
