using System.Buffers;
using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>One handler's consumer: its channel, its deliveries and how each is settled.</summary>
internal sealed class RabbitMqQueueConsumer : IAsyncDisposable
{
    // Kept below RabbitMQ's default consumer_timeout (30 min), past which the broker closes the channel.
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan ReopenCheckDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxReopenBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(5);

    private readonly IMessageHandler _handler;
    private readonly QueueRoute _route;
    private readonly RabbitMqConnection _connection;
    private readonly RabbitMqPublisher _publisher;
    private readonly MessagingOptions _options;
    private readonly ConsumerLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Settlement _settlement;
    private readonly string _consumerTag;
    private readonly SemaphoreSlim _slots;
    private IChannel? _channel;
    private TaskCompletionSource _channelLost = NewSignal();
    private volatile bool _cancelledByBroker;

    public RabbitMqQueueConsumer(
        IMessageHandler handler,
        QueueRoute route,
        RabbitMqConnection connection,
        RabbitMqPublisher publisher,
        MessagingOptions options,
        ConsumerLifetime lifetime,
        TimeProvider time,
        ILogger logger)
    {
        _handler = handler;
        _route = route;
        _connection = connection;
        _publisher = publisher;
        _options = options;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
        _settlement = new Settlement(options, lifetime, logger);
        _consumerTag = $"actionflow.{route.LogicalQueue}.{Guid.NewGuid():N}";
        var concurrency = Math.Clamp(options.Concurrency, 1, ushort.MaxValue);
        _slots = new SemaphoreSlim(concurrency, concurrency);
    }

    /// <summary>
    /// Consumes until <paramref name="stoppingToken"/> fires, then cancels the consumer. Reopens the channel (after
    /// declaring the topology again) when the broker closed it or cancelled the consumer, e.g. because the queue was deleted.
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var backoff = ReopenCheckDelay;
        var reopening = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_channel is null)
            {
                try
                {
                    if (reopening)
                    {
                        await _connection.DeclareTopologyAsync(stoppingToken);
                    }

                    await OpenAsync(stoppingToken);
                    reopening = false;
                    backoff = ReopenCheckDelay;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    Log.ConsumerOpenFailed(_logger, _route.LogicalQueue, _route.Queue, (long)backoff.TotalMilliseconds, ex);
                    reopening = true;
                    await DelayAsync(backoff, stoppingToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxReopenBackoff.Ticks));
                    continue;
                }
            }

            try
            {
                await _channelLost.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            _channelLost = NewSignal();
            // A connection failure is handled by automatic recovery, which reopens this same channel and consumer;
            // only a channel the broker closed, or a consumer it cancelled, while the connection stays up needs a new one.
            await DelayAsync(ReopenCheckDelay, stoppingToken);
            if (_channel is { } current && _connection.IsOpen && (!current.IsOpen || _cancelledByBroker))
            {
                _channel = null;
                _cancelledByBroker = false;
                reopening = true;
                await CloseQuietlyAsync(current);
            }
        }

        await CancelConsumerAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _channel, null) is { } channel)
        {
            await CloseQuietlyAsync(channel);
        }

        // Not disposed: a handler still running after its channel closed releases its slot on the way out.
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _connection.GetConnectionAsync(cancellationToken);
        var concurrency = (ushort)Math.Clamp(_options.Concurrency, 1, ushort.MaxValue);
        var prefetch = (ushort)Math.Clamp(_options.EffectivePrefetch, 1, ushort.MaxValue);
        // One dispatch loop: the client's loops all wait on one channel reader, and each delivery wakes every one of
        // them (256 by default) to find a single message. OnReceivedAsync starts the handler and returns; the slots
        // bound how many run at once.
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: 1),
            cancellationToken);
        try
        {
            await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: prefetch, global: false, cancellationToken);
            channel.ChannelShutdownAsync += OnChannelShutdownAsync;
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += OnReceivedAsync;
            consumer.UnregisteredAsync += OnUnregisteredAsync;
            await channel.BasicConsumeAsync(_route.Queue, autoAck: false, _consumerTag, noLocal: false, exclusive: false, arguments: null, consumer, cancellationToken);
            _channel = channel;
            Log.Consuming(_logger, _route.LogicalQueue, _route.Queue, concurrency, prefetch);
        }
        catch
        {
            await CloseQuietlyAsync(channel);
            throw;
        }
    }

    private Task OnChannelShutdownAsync(object sender, ShutdownEventArgs args)
    {
        if (!_lifetime.Stopping && args.Initiator != ShutdownInitiator.Application && _connection.IsOpen)
        {
            Log.ConsumerChannelClosed(_logger, _route.LogicalQueue, args.ReplyCode, args.ReplyText);
            _channelLost.TrySetResult();
        }

        return Task.CompletedTask;
    }

    private Task OnUnregisteredAsync(object sender, ConsumerEventArgs args)
    {
        // Also raised for our own cancel (stopping) and when the channel shuts down (recovery's business).
        if (!_lifetime.Stopping && ((AsyncEventingBasicConsumer)sender).Channel.IsOpen)
        {
            Log.ConsumerCancelledByBroker(_logger, _route.LogicalQueue, _route.Queue);
            _cancelledByBroker = true;
            _channelLost.TrySetResult();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Called by the channel's single dispatch loop: waits for a free slot (the prefetch already bounds what waits
    /// here), starts the handler and returns, so the next delivery is dispatched while this one runs. With a slot free
    /// (the usual case) it completes synchronously: no state machine, no task of its own per delivery.
    /// </summary>
    private Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        _lifetime.InFlight.Enter();
        if (_slots.Wait(0))
        {
            Start(((AsyncEventingBasicConsumer)sender).Channel, delivery);
            return Task.CompletedTask;
        }

        return StartWhenFreeAsync(((AsyncEventingBasicConsumer)sender).Channel, delivery);
    }

    private async Task StartWhenFreeAsync(IChannel channel, BasicDeliverEventArgs delivery)
    {
        // No token and never disposed: this wait only ends with a slot.
        await _slots.WaitAsync();
        Start(channel, delivery);
    }

    private void Start(IChannel channel, BasicDeliverEventArgs delivery)
    {
        // The client returns the body's buffer to its pool when OnReceivedAsync's task completes; the handler, which
        // runs on, gets a copy in a buffer rented here and returned by HandleAsync once the delivery is settled (the
        // dead letter publishes the body after awaits too, and a handler only reads it until its task completes).
        var length = delivery.Body.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        delivery.Body.Span.CopyTo(rented);
        _ = HandleAsync(channel, delivery, rented, length);
    }

    private async Task HandleAsync(IChannel channel, BasicDeliverEventArgs delivery, byte[] rented, int length)
    {
        var body = new ReadOnlyMemory<byte>(rented, 0, length);
        try
        {
            var properties = delivery.BasicProperties;
            var deliveryCount = AmqpHeaders.DeliveryCount(properties.Headers, delivery.Redelivered);
            var message = new IncomingMessage(_route.LogicalQueue, body, AmqpHeaders.ToStrings(properties.Headers), delivery.Redelivered, deliveryCount);
            await _settlement.HandleAsync(_handler, message, new Delivery(this, channel, delivery, body, deliveryCount));
        }
        catch (Exception ex)
        {
            // Never leave a delivery unsettled: an exception escaping here would keep it unacked until the channel closes.
            Log.UnexpectedConsumerError(_logger, _route.LogicalQueue, MessageIdOf(delivery), ex);
            await SettleAsync(channel, delivery, ack: false);
        }
        finally
        {
            // Settled (or left to the broker): nothing refers to the body any more.
            ArrayPool<byte>.Shared.Return(rented);
            _slots.Release();
            _lifetime.InFlight.Exit();
        }
    }

    /// <summary>Publishes the message to the dead-letter exchange with headers that say why; true once the broker confirmed it.</summary>
    private async Task<bool> PublishDeadLetterAsync(
        BasicDeliverEventArgs delivery, ReadOnlyMemory<byte> body, int deliveryCount, string reason, string? exceptionType, IReadOnlyDictionary<string, string>? extraHeaders)
    {
        var original = delivery.BasicProperties;
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (original.Headers is not null)
        {
            foreach (var (name, value) in original.Headers)
            {
                headers[name] = value;
            }
        }

        foreach (var (name, value) in extraHeaders ?? new Dictionary<string, string>())
        {
            headers[name] = value;
        }

        headers[MessageHeaders.DeadLetterReason] = reason;
        headers[MessageHeaders.OriginalQueue] = _route.Queue;
        headers[MessageHeaders.Deliveries] = deliveryCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (exceptionType is not null)
        {
            headers[MessageHeaders.ExceptionType] = exceptionType;
        }
        else
        {
            headers.Remove(MessageHeaders.ExceptionType);
        }

        var properties = new BasicProperties
        {
            ContentType = original.ContentType ?? "application/json",
            MessageId = original.MessageId,
            CorrelationId = original.CorrelationId,
            Timestamp = original.IsTimestampPresent() ? original.Timestamp : new AmqpTimestamp(_time.GetUtcNow().ToUnixTimeSeconds()),
            DeliveryMode = DeliveryModes.Persistent,
            Headers = headers,
        };

        try
        {
            await _publisher.PublishDeadLetterAsync(_route.Queue, properties, body, CancellationToken.None);
            return true;
        }
        catch (Exception ex)
        {
            Log.DeadLetterPublishFailed(_logger, _route.LogicalQueue, MessageIdOf(delivery), ex);
            return false;
        }
    }

    private async Task SettleAsync(IChannel channel, BasicDeliverEventArgs delivery, bool ack)
    {
        try
        {
            if (ack)
            {
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None);
            }
            else
            {
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // The channel is gone: the broker returns the message to the queue by itself.
            Log.SettleFailed(_logger, _route.LogicalQueue, MessageIdOf(delivery), ack ? "ack" : "nack", ex.Message);
        }
    }

    private async Task CancelConsumerAsync()
    {
        if (_channel is not { IsOpen: true } channel)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(CancelTimeout);
            await channel.BasicCancelAsync(_consumerTag, noWait: false, timeout.Token);
        }
        catch (Exception ex)
        {
            Log.ConsumerCancelFailed(_logger, _route.LogicalQueue, ex.Message);
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: settle right away.
        }
    }

    private static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            if (channel.IsOpen)
            {
                await channel.CloseAsync();
            }

            await channel.DisposeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already closed, or the connection is gone: nothing left to release.
        }
    }

    /// <summary>One RabbitMQ delivery, as the shared <see cref="Settlement"/> settles it.</summary>
    private readonly struct Delivery(
        RabbitMqQueueConsumer consumer, IChannel channel, BasicDeliverEventArgs delivery, ReadOnlyMemory<byte> body, int deliveryCount) : IDelivery
    {
        // Made when asked for (a log line, a dead letter), not per delivery: most messages carry no id of their own.
        public string MessageId => MessageIdOf(delivery);

        public Task AckAsync() => consumer.SettleAsync(channel, delivery, ack: true);

        public async Task RedeliverAsync(TimeSpan after)
        {
            // The broker has no per-message delay for a nack: wait here (cut short when stopping), then return it. Kept
            // below RabbitMQ's consumer_timeout, past which the broker would close the channel.
            if (after > TimeSpan.Zero)
            {
                await consumer.DelayAsync(after > MaxRetryDelay ? MaxRetryDelay : after, consumer._lifetime.PauseToken);
            }

            await consumer.SettleAsync(channel, delivery, ack: false);
        }

        public async Task<bool> DeadLetterAsync(string reason, string? exceptionType, IReadOnlyDictionary<string, string>? headers)
        {
            if (!await consumer.PublishDeadLetterAsync(delivery, body, deliveryCount, reason, exceptionType, headers))
            {
                return false;
            }

            await consumer.SettleAsync(channel, delivery, ack: true);
            return true;
        }
    }

    private static string MessageIdOf(BasicDeliverEventArgs delivery) =>
        delivery.BasicProperties.MessageId ?? $"delivery-{delivery.DeliveryTag}";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
