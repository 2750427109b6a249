using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Actionflow.Core.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Messaging.Embedded;

/// <summary>
/// Runs every registered <see cref="IMessageHandler"/> against the embedded queue (<see cref="IEmbeddedQueueStore"/>):
/// per handler one loop leases as many messages as it has free slots (up to <see cref="MessagingOptions.Concurrency"/>
/// handlers at once), and each message is settled from its outcome. Same contract and shutdown as the RabbitMQ consumer.
/// </summary>
public sealed class EmbeddedConsumerService : BackgroundService
{
    /// <summary>How long a leased message stays hidden from other consumers.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(5);

    private const int MaxLease = 32;
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan StoreBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxStoreBackoff = TimeSpan.FromSeconds(30);

    private readonly IServiceScopeFactory _scopes;
    private readonly IMessageHandler[] _handlers;
    private readonly IOutboxSignal _signal;
    private readonly RetryWakeups _wakeups;
    private readonly MessagingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EmbeddedConsumerService> _logger;
    private readonly ConsumerLifetime _lifetime = new();

    public EmbeddedConsumerService(
        IServiceScopeFactory scopes,
        IEnumerable<IMessageHandler> handlers,
        IOutboxSignal signal,
        RetryWakeups wakeups,
        IOptions<MessagingOptions> options,
        TimeProvider time,
        ILogger<EmbeddedConsumerService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _scopes = scopes;
        _handlers = [.. handlers];
        _signal = signal;
        _wakeups = wakeups;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Handlers running right now.</summary>
    public int InFlight => _lifetime.InFlight.Count;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            if (handler.Queue is not (QueueNames.Events or QueueNames.ActionTriggers))
            {
                throw new InvalidOperationException($"Handler {handler.GetType().Name} consumes '{handler.Queue}', which is not a logical queue ({nameof(QueueNames)}).");
            }
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(_lifetime.CancelHandlers);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _lifetime.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var stopping = stoppingToken.Register(_lifetime.BeginStopping);
        if (!await ReleaseAllAsync(stoppingToken))
        {
            return;
        }

        var concurrency = Math.Max(1, _options.Concurrency);
        Log.EmbeddedConsuming(_logger, _handlers.Length, concurrency);
        await Task.WhenAll(_handlers.Select(handler => DispatchAsync(handler, concurrency, stoppingToken)));
        await _lifetime.DrainAsync(_options.ShutdownGracePeriod, _logger);
    }

    private async Task<bool> ReleaseAllAsync(CancellationToken stoppingToken)
    {
        var backoff = StoreBackoff;
        while (true)
        {
            try
            {
                await using var scope = _scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<IEmbeddedQueueStore>().ReleaseAllAsync(stoppingToken);
                return true;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex)
            {
                Log.EmbeddedStoreFailed(_logger, "release", (long)backoff.TotalMilliseconds, ex);
                if (!await DelayAsync(backoff, stoppingToken))
                {
                    return false;
                }

                backoff = Next(backoff);
            }
        }
    }

    private async Task DispatchAsync(IMessageHandler handler, int concurrency, CancellationToken stoppingToken)
    {
        // Not disposed: handlers still running after a shutdown timed out release their slot later.
        var slots = new SemaphoreSlim(concurrency, concurrency);
        var backoff = StoreBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var free = 1;
            while (free < MaxLease && slots.Wait(0, CancellationToken.None))
            {
                free++;
            }

            IReadOnlyList<OutboxMessage> leased;
            try
            {
                var now = Now();
                await using var scope = _scopes.CreateAsyncScope();
                // Not cancelled by the shutdown: a lease committed but reported as cancelled would hide its rows
                // until the next start. Rows leased while stopping are released by HandleAsync.
                leased = await scope.ServiceProvider.GetRequiredService<IEmbeddedQueueStore>()
                    .LeaseAsync(handler.Queue, free, now, now + LeaseDuration, CancellationToken.None);
                backoff = StoreBackoff;
            }
            catch (Exception ex)
            {
                slots.Release(free);
                if (stoppingToken.IsCancellationRequested)
                {
                    break;
                }

                Log.EmbeddedStoreFailed(_logger, "lease", (long)backoff.TotalMilliseconds, ex);
                await DelayAsync(backoff, stoppingToken);
                backoff = Next(backoff);
                continue;
            }

            if (leased.Count < free)
            {
                slots.Release(free - leased.Count);
            }

            foreach (var message in leased)
            {
                _lifetime.InFlight.Enter();
                _ = Task.Run(() => HandleAsync(handler, message, slots), CancellationToken.None);
            }

            if (leased.Count == 0)
            {
                try
                {
                    await _signal.WaitAsync(handler.Queue, IdleWait, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task HandleAsync(IMessageHandler handler, OutboxMessage message, SemaphoreSlim slots)
    {
        try
        {
            if (_lifetime.Stopping)
            {
                await SettleAsync(message, store => store.RescheduleAsync(message.Id, Now(), CancellationToken.None));
                return;
            }

            var deliveries = Math.Max(1, message.Deliveries);
            var lastDelivery = deliveries > _options.DeliveryLimit;
            var incoming = new IncomingMessage(handler.Queue, message.Body, HeaderJson.Parse(message.Headers), deliveries > 1, deliveries);
            HandlingOutcome outcome;
            try
            {
                outcome = await handler.HandleAsync(incoming, _lifetime.HandlerToken);
            }
            catch (OperationCanceledException) when (_lifetime.HandlerToken.IsCancellationRequested)
            {
                Log.ReturnedOnShutdown(_logger, handler.Queue, MessageId(message));
                await SettleAsync(message, store => store.RescheduleAsync(message.Id, Now(), CancellationToken.None));
                return;
            }
            catch (Exception ex)
            {
                if (!lastDelivery)
                {
                    var backoff = _options.BackoffFor(deliveries);
                    Log.HandlerFailed(_logger, handler.Queue, MessageId(message), deliveries, (long)backoff.TotalMilliseconds, ex);
                    var dueAt = Now() + backoff;
                    await SettleAsync(message, store => store.RescheduleAsync(message.Id, dueAt, CancellationToken.None));
                    _wakeups.At(handler.Queue, dueAt);
                    return;
                }

                outcome = HandlingOutcome.DeadLetter($"handler failed on {deliveries} deliveries; last error: {ex.Message}", ex);
            }

            switch (outcome.Disposition)
            {
                case MessageDisposition.Ack:
                    await SettleAsync(message, store => store.DeleteAsync(message.Id, CancellationToken.None));
                    break;
                case MessageDisposition.Retry when lastDelivery:
                    await DeadLetterAsync(message, $"still not processable after {deliveries} deliveries: {outcome.Reason}", outcome.ExceptionType, outcome.Headers);
                    break;
                case MessageDisposition.Retry:
                    var delay = outcome.RetryAfter < TimeSpan.Zero ? TimeSpan.Zero : outcome.RetryAfter;
                    Log.RetryRequested(_logger, handler.Queue, MessageId(message), (long)delay.TotalMilliseconds, outcome.Reason ?? "");
                    var retryAt = Now() + delay;
                    await SettleAsync(message, store => store.RescheduleAsync(message.Id, retryAt, CancellationToken.None));
                    // Due again then: wake the dispatcher at that time rather than at its next idle poll.
                    _wakeups.At(handler.Queue, retryAt);
                    break;
                default:
                    await DeadLetterAsync(message, outcome.Reason ?? "dead-lettered by the handler", outcome.ExceptionType, outcome.Headers);
                    break;
            }
        }
        catch (Exception ex)
        {
            // Unsettled: the lease runs out and the message is delivered again.
            Log.UnexpectedConsumerError(_logger, handler.Queue, MessageId(message), ex);
        }
        finally
        {
            slots.Release();
            _lifetime.InFlight.Exit();
        }
    }

    private async Task DeadLetterAsync(OutboxMessage message, string reason, string? exceptionType, IReadOnlyDictionary<string, string>? extraHeaders = null)
    {
        if (extraHeaders is { Count: > 0 })
        {
            var merged = new Dictionary<string, string>(HeaderJson.Parse(message.Headers), StringComparer.Ordinal);
            foreach (var (name, value) in extraHeaders)
            {
                merged[name] = value;
            }

            message.Headers = HeaderJson.Serialize(merged);
        }

        if (await SettleAsync(message, store => store.DeadLetterAsync(message, reason, exceptionType, Now(), CancellationToken.None)))
        {
            Log.DeadLettered(_logger, message.Queue, MessageId(message), message.Deliveries, reason);
            Actionflow.Core.Engine.ActionflowMetrics.DeadLettered(message.Queue);
        }
    }

    private async Task<bool> SettleAsync(OutboxMessage message, Func<IEmbeddedQueueStore, Task> settle)
    {
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            await settle(scope.ServiceProvider.GetRequiredService<IEmbeddedQueueStore>());
            return true;
        }
        catch (Exception ex)
        {
            // The lease runs out and the message is delivered again.
            Log.SettleFailed(_logger, message.Queue, MessageId(message), "settle", ex.Message);
            return false;
        }
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private static TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxStoreBackoff.Ticks));

    private static string MessageId(OutboxMessage message) => $"outbox-{message.Id}";
}
