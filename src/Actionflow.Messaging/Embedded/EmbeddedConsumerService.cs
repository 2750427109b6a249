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
    private readonly DueWakeups _wakeups;
    private readonly MessagingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EmbeddedConsumerService> _logger;
    private readonly ConsumerLifetime _lifetime = new();
    private readonly Settlement _settlement;

    public EmbeddedConsumerService(
        IServiceScopeFactory scopes,
        IEnumerable<IMessageHandler> handlers,
        IOutboxSignal signal,
        DueWakeups wakeups,
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
        _settlement = new Settlement(_options, _lifetime, logger);
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
            var idle = IdleWait;
            try
            {
                var now = Now();
                await using var scope = _scopes.CreateAsyncScope();
                var store = scope.ServiceProvider.GetRequiredService<IEmbeddedQueueStore>();
                // Not cancelled by the shutdown: a lease committed but reported as cancelled would hide its rows
                // until the next start. Rows leased while stopping are released by HandleAsync.
                leased = await store.LeaseAsync(handler.Queue, free, now, now + LeaseDuration, CancellationToken.None);
                if (leased.Count == 0 && await store.NextDueAsync(handler.Queue, now, stoppingToken) is { } due && due - now < idle)
                {
                    // A delayed retry or the end of a wait falls due before the next idle poll: wake for it.
                    idle = due - now;
                }

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
                    await _signal.WaitAsync(handler.Queue, idle, stoppingToken);
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
            var deliveries = Math.Max(1, message.Deliveries);
            var incoming = new IncomingMessage(handler.Queue, message.Body, HeaderJson.Parse(message.Headers), deliveries > 1, deliveries)
            {
                // The handler's store may delete the row with the work it records: then there is no ack to write.
                Receipt = new QueueReceipt(message.Id),
            };
            await _settlement.HandleAsync(handler, incoming, new Delivery(this, handler.Queue, message));
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

    /// <summary>One embedded delivery (an outbox row leased by this process), as the shared <see cref="Settlement"/> settles it.</summary>
    private readonly struct Delivery(EmbeddedConsumerService consumer, string queue, OutboxMessage message) : IDelivery
    {
        public string MessageId => EmbeddedConsumerService.MessageId(message);

        public async Task AckAsync()
        {
            var id = message.Id;
            await consumer.SettleAsync(message, store => store.DeleteAsync(id, CancellationToken.None));
        }

        public async Task RedeliverAsync(TimeSpan after)
        {
            var (id, dueAt) = (message.Id, consumer.Now() + after);
            await consumer.SettleAsync(message, store => store.RescheduleAsync(id, dueAt, CancellationToken.None));
            if (after > TimeSpan.Zero)
            {
                // Due again then: wake the dispatcher at that time rather than at its next idle poll.
                consumer._wakeups.At(queue, dueAt);
            }
        }

        public async Task<bool> DeadLetterAsync(string reason, string? exceptionType, IReadOnlyDictionary<string, string>? headers)
        {
            if (headers is { Count: > 0 })
            {
                var merged = new Dictionary<string, string>(HeaderJson.Parse(message.Headers), StringComparer.Ordinal);
                foreach (var (name, value) in headers)
                {
                    merged[name] = value;
                }

                message.Headers = HeaderJson.Serialize(merged);
            }

            var parked = message;
            var now = consumer.Now();
            return await consumer.SettleAsync(message, store => store.DeadLetterAsync(parked, reason, exceptionType, now, CancellationToken.None));
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
