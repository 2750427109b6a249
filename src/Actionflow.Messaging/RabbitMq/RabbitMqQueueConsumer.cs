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
    private readonly string _consumerTag;
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
        _consumerTag = $"actionflow.{route.LogicalQueue}.{Guid.NewGuid():N}";
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
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _connection.GetConnectionAsync(cancellationToken);
        var concurrency = (ushort)Math.Clamp(_options.Concurrency, 1, ushort.MaxValue);
        var prefetch = (ushort)Math.Clamp(_options.EffectivePrefetch, 1, ushort.MaxValue);
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: concurrency),
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

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        _lifetime.InFlight.Enter();
        try
        {
            if (_lifetime.Stopping)
            {
                await SettleAsync(channel, delivery, ack: false, MessageIdOf(delivery));
                return;
            }

            await HandleAsync(channel, delivery);
        }
        catch (Exception ex)
        {
            // Never leave a delivery unsettled: an exception escaping here would keep it unacked until the channel closes.
            Log.UnexpectedConsumerError(_logger, _route.LogicalQueue, MessageIdOf(delivery), ex);
            await SettleAsync(channel, delivery, ack: false, MessageIdOf(delivery));
        }
        finally
        {
            _lifetime.InFlight.Exit();
        }
    }

    private async Task HandleAsync(IChannel channel, BasicDeliverEventArgs delivery)
    {
        var properties = delivery.BasicProperties;
        var messageId = MessageIdOf(delivery);
        var deliveryCount = AmqpHeaders.DeliveryCount(properties.Headers, delivery.Redelivered);
        var message = new IncomingMessage(_route.LogicalQueue, delivery.Body.ToArray(), AmqpHeaders.ToStrings(properties.Headers), delivery.Redelivered, deliveryCount);
        var lastDelivery = deliveryCount > _options.DeliveryLimit;

        HandlingOutcome outcome;
        try
        {
            outcome = await _handler.HandleAsync(message, _lifetime.HandlerToken);
        }
        catch (OperationCanceledException) when (_lifetime.HandlerToken.IsCancellationRequested)
        {
            Log.ReturnedOnShutdown(_logger, _route.LogicalQueue, messageId);
            await SettleAsync(channel, delivery, ack: false, messageId);
            return;
        }
        catch (Exception ex)
        {
            if (!lastDelivery)
            {
                var backoff = _options.BackoffFor(deliveryCount);
                Log.HandlerFailed(_logger, _route.LogicalQueue, messageId, deliveryCount, (long)backoff.TotalMilliseconds, ex);
                await DelayAsync(backoff, _lifetime.PauseToken);
                await SettleAsync(channel, delivery, ack: false, messageId);
                return;
            }

            outcome = HandlingOutcome.DeadLetter($"handler failed on {deliveryCount} deliveries; last error: {ex.Message}", ex);
        }

        switch (outcome.Disposition)
        {
            case MessageDisposition.Ack:
                await SettleAsync(channel, delivery, ack: true, messageId);
                break;
            case MessageDisposition.Retry when lastDelivery:
                await DeadLetterAsync(channel, delivery, messageId, deliveryCount,
                    $"still not processable after {deliveryCount} deliveries: {outcome.Reason}", outcome.ExceptionType, outcome.Headers);
                break;
            case MessageDisposition.Retry:
                var delay = outcome.RetryAfter < TimeSpan.Zero ? TimeSpan.Zero : outcome.RetryAfter > MaxRetryDelay ? MaxRetryDelay : outcome.RetryAfter;
                Log.RetryRequested(_logger, _route.LogicalQueue, messageId, (long)delay.TotalMilliseconds, outcome.Reason ?? "");
                await DelayAsync(delay, _lifetime.PauseToken);
                await SettleAsync(channel, delivery, ack: false, messageId);
                break;
            default:
                await DeadLetterAsync(channel, delivery, messageId, deliveryCount, outcome.Reason ?? "dead-lettered by the handler", outcome.ExceptionType, outcome.Headers);
                break;
        }
    }

    private async Task DeadLetterAsync(
        IChannel channel, BasicDeliverEventArgs delivery, string messageId, int deliveryCount, string reason, string? exceptionType,
        IReadOnlyDictionary<string, string>? extraHeaders = null)
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
            await _publisher.PublishDeadLetterAsync(_route.Queue, properties, delivery.Body, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Not safely parked: keep the message and try again later.
            var backoff = _options.BackoffFor(deliveryCount);
            Log.DeadLetterFailed(_logger, _route.LogicalQueue, messageId, (long)backoff.TotalMilliseconds, ex);
            await DelayAsync(backoff, _lifetime.PauseToken);
            await SettleAsync(channel, delivery, ack: false, messageId);
            return;
        }

        Log.DeadLettered(_logger, _route.LogicalQueue, messageId, deliveryCount, reason);
        Actionflow.Core.Engine.ActionflowMetrics.DeadLettered(_route.LogicalQueue);
        await SettleAsync(channel, delivery, ack: true, messageId);
    }

    private async Task SettleAsync(IChannel channel, BasicDeliverEventArgs delivery, bool ack, string messageId)
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
            Log.SettleFailed(_logger, _route.LogicalQueue, messageId, ack ? "ack" : "nack", ex.Message);
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

    private static string MessageIdOf(BasicDeliverEventArgs delivery) =>
        delivery.BasicProperties.MessageId ?? $"delivery-{delivery.DeliveryTag}";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
