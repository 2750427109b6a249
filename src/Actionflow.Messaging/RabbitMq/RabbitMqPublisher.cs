using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>
/// Publishes with confirms on a small pool of channels. Every publish is <c>mandatory</c> (an unroutable message is
/// an error, not a silent drop) and returns only once the broker confirmed it.
/// </summary>
public sealed class RabbitMqPublisher : IMessagePublisher, IAsyncDisposable
{
    /// <summary>Largest batch published on one channel before its confirms are awaited.</summary>
    public const int MaxBatch = 500;

    private const string JsonContentType = "application/json";
    private const int PoolSize = 4;
    // The client throttles once half its permits are in use, and fails a publish when none is left.
    private const int OutstandingConfirmsPerChannel = 4 * MaxBatch;

    private readonly RabbitMqConnection _connection;
    private readonly MessagingTopology _topology;
    private readonly TimeSpan _publishTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger<RabbitMqPublisher> _logger;
    private readonly ConcurrentBag<IChannel> _idle = [];
    private readonly SemaphoreSlim _slots = new(PoolSize, PoolSize);

    public RabbitMqPublisher(RabbitMqConnection connection, TimeProvider time, ILogger<RabbitMqPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _topology = connection.Topology;
        _publishTimeout = connection.Options.PublishTimeout;
        _time = time;
        _logger = logger;
    }

    public Task PublishAsync(string queue, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        var route = _topology.Route(queue);
        var properties = NewProperties(route.Durable, Guid.CreateVersion7().ToString(), headers);
        return WithChannelAsync(
            (channel, token) => channel.BasicPublishAsync(route.Exchange, route.RoutingKey, mandatory: true, properties, body, token).AsTask(),
            cancellationToken);
    }

    /// <summary>Publishes outbox rows (all of them, then awaits every confirm); throws if any was not confirmed.</summary>
    public async Task PublishBatchAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        for (var start = 0; start < messages.Count; start += MaxBatch)
        {
            var end = Math.Min(messages.Count, start + MaxBatch);
            var first = start;
            await WithChannelAsync(
                (channel, token) =>
                {
                    var pending = new List<Task>(end - first);
                    for (var i = first; i < end; i++)
                    {
                        try
                        {
                            pending.Add(PublishOutboxRow(channel, messages[i], token));
                        }
                        catch (Exception ex) when (ex is not OutOfMemoryException)
                        {
                            pending.Add(Task.FromException(ex));
                            break;
                        }
                    }

                    return Task.WhenAll(pending);
                },
                cancellationToken);
        }
    }

    private Task PublishOutboxRow(IChannel channel, OutboxMessage message, CancellationToken cancellationToken)
    {
        var headers = HeaderJson.Parse(message.Headers);
        if (!_topology.TryRoute(message.Queue, out var route))
        {
            // A row for no known queue would block the relay forever: park it with the dead letters instead.
            var parked = new Dictionary<string, string>(headers, StringComparer.Ordinal)
            {
                [MessageHeaders.DeadLetterReason] = $"outbox row for unknown queue '{message.Queue}'",
                [MessageHeaders.OriginalQueue] = message.Queue,
            };
            return channel.BasicPublishAsync(_topology.DeadLetterExchange, message.Queue, mandatory: true, NewProperties(true, $"outbox-{message.Id}", parked), message.Body.AsMemory(), cancellationToken).AsTask();
        }

        var properties = NewProperties(route.Durable, $"outbox-{message.Id}", headers);
        return channel.BasicPublishAsync(route.Exchange, route.RoutingKey, mandatory: true, properties, message.Body.AsMemory(), cancellationToken).AsTask();
    }

    /// <summary>Publishes a message that cannot be processed to the dead-letter exchange, confirmed.</summary>
    internal Task PublishDeadLetterAsync(string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        WithChannelAsync(
            (channel, token) => channel.BasicPublishAsync(_topology.DeadLetterExchange, routingKey, mandatory: true, properties, body, token).AsTask(),
            cancellationToken);

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var channel))
        {
            await CloseQuietlyAsync(channel);
        }

        _slots.Dispose();
    }

    internal BasicProperties NewProperties(bool persistent, string messageId, IReadOnlyDictionary<string, string>? headers)
    {
        // New properties and a new header table per message: with confirm tracking the client writes its sequence
        // number header into them.
        var table = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                table[name] = value;
            }
        }

        return new BasicProperties
        {
            ContentType = JsonContentType,
            DeliveryMode = persistent ? DeliveryModes.Persistent : DeliveryModes.Transient,
            MessageId = messageId,
            Timestamp = new AmqpTimestamp(_time.GetUtcNow().ToUnixTimeSeconds()),
            Headers = table,
        };
    }

    private async Task WithChannelAsync(Func<IChannel, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_publishTimeout);
        await _slots.WaitAsync(cancellationToken);
        IChannel? channel = null;
        try
        {
            channel = await RentAsync(timeout.Token);
            await publish(channel, timeout.Token);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"RabbitMQ did not confirm the publish within {_publishTimeout.TotalSeconds:0} s.", ex);
        }
        finally
        {
            if (channel is not null)
            {
                await ReturnAsync(channel);
            }

            _slots.Release();
        }
    }

    private async Task<IChannel> RentAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var pooled))
        {
            if (pooled.IsOpen || !_connection.IsOpen)
            {
                // Open, or waiting for the connection to recover (a publish then fails fast and is retried by the caller).
                return pooled;
            }

            Log.PublisherChannelDiscarded(_logger, pooled.CloseReason?.ReplyText ?? "closed");
            await CloseQuietlyAsync(pooled);
        }

        var connection = await _connection.GetConnectionAsync(cancellationToken);
        var options = new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(OutstandingConfirmsPerChannel));
        return await connection.CreateChannelAsync(options, cancellationToken);
    }

    private async Task ReturnAsync(IChannel channel)
    {
        if (!channel.IsOpen && _connection.IsOpen)
        {
            // Closed by a channel error (e.g. a missing exchange) while the connection is fine: recovery will not reopen it.
            Log.PublisherChannelDiscarded(_logger, channel.CloseReason?.ReplyText ?? "closed");
            await CloseQuietlyAsync(channel);
            return;
        }

        _idle.Add(channel);
    }

    private static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            await channel.DisposeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already closed, or the connection is gone: nothing left to release.
        }
    }
}
