using Actionflow.Core.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>
/// Moves committed outbox rows to RabbitMQ: batches of up to 500, confirmed, deleted by the store once confirmed.
/// Wakes on <see cref="IOutboxSignal"/>, when the next hidden row falls due (a retry, the end of a wait), or every
/// second; a broker or database outage only delays it.
/// </summary>
public sealed class OutboxRelayService(
    IServiceScopeFactory scopes,
    RabbitMqPublisher publisher,
    IOutboxSignal signal,
    TimeProvider time,
    ILogger<OutboxRelayService> logger) : BackgroundService
{
    public const int BatchSize = 500;

    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int relayed;
                var wait = IdleWait;
                await using (var scope = scopes.CreateAsyncScope())
                {
                    var store = scope.ServiceProvider.GetService<IOutboxStore>();
                    if (store is null)
                    {
                        Log.RelayWithoutStore(logger);
                        return;
                    }

                    relayed = await store.RelayAsync(BatchSize, publisher.PublishBatchAsync, stoppingToken);
                    if (relayed == 0)
                    {
                        var now = time.GetUtcNow().UtcDateTime;
                        if (await store.NextDueAsync(now, stoppingToken) is { } due && due - now < wait)
                        {
                            wait = due - now;
                        }
                    }
                }

                backoff = FirstBackoff;
                if (relayed > 0)
                {
                    Log.Relayed(logger, relayed);
                }
                else
                {
                    await signal.WaitAsync(QueueNames.ActionTriggers, wait, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.RelayFailed(logger, (long)backoff.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(backoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }
}
