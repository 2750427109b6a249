using System.Diagnostics;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using RabbitMQ.Client;

namespace Actionflow.Bench;

/// <summary>The events of one phase, as Diffgram's <c>Event.serialize()</c> JSON, built before the clock starts.</summary>
internal sealed class EventBatch
{
    /// <param name="directoryOf">The <c>directory_id</c> of the i-th event (7 for all when null).</param>
    public EventBatch(long firstId, IReadOnlyList<(long ProjectId, string Kind)> targets, Func<int, long>? directoryOf = null)
    {
        FirstId = firstId;
        Bodies = new byte[targets.Count][];
        for (var i = 0; i < targets.Count; i++)
        {
            Bodies[i] = DiffgramEvent(firstId + i, targets[i].Kind, targets[i].ProjectId, directoryId: directoryOf?.Invoke(i) ?? 7, fileId: 100_000 + i);
        }

        SentTicks = new long[targets.Count];
        Targets = targets;
    }

    /// <summary>The project and kind of each event.</summary>
    public IReadOnlyList<(long ProjectId, string Kind)> Targets { get; }

    /// <summary>Diffgram's <c>id</c> of the first event; the others follow.</summary>
    public long FirstId { get; }

    public byte[][] Bodies { get; }

    public int Count => Bodies.Length;

    /// <summary>UTC ticks at which each event was handed to the broker (or to the embedded queue).</summary>
    public long[] SentTicks { get; }

    public DateTime FirstSent => new(SentTicks.Where(t => t > 0).DefaultIfEmpty(0).Min(), DateTimeKind.Utc);

    public bool TryIndexOf(long sourceId, out int index)
    {
        index = (int)(sourceId - FirstId);
        return sourceId >= FirstId && index < Count;
    }

    /// <summary>A Diffgram <c>Event.serialize()</c> message (the shape Diffgram's QueueClient publishes).</summary>
    public static byte[] DiffgramEvent(long id, string kind, long projectId, long? directoryId, long? fileId) => System.Text.Encoding.UTF8.GetBytes(new JsonObject
    {
        ["id"] = id,
        ["kind"] = kind,
        ["description"] = null,
        ["error_log"] = null,
        ["object_type"] = null,
        ["page_name"] = null,
        ["input_id"] = fileId is null ? null : fileId + 1000,
        ["project_id"] = projectId,
        ["directory_id"] = directoryId,
        ["action_id"] = null,
        ["workflow_id"] = null,
        ["file_id"] = fileId,
        ["task_id"] = null,
        ["job_id"] = null,
        ["member_id"] = null,
        ["report_template_data"] = null,
        ["report_data"] = null,
        ["time_created"] = "2026-11-27",
        ["install_fingerprint"] = null,
        ["diffgram_version"] = "2024.10",
        ["host_os"] = "linux",
        ["storage_backend"] = "gcp",
        ["service_name"] = "walrus",
        ["extra_metadata"] = null,
    }.ToJsonString());
}

/// <summary>Hands events to Actionflow: over AMQP, or into the embedded queue.</summary>
internal interface IEventFeed : IAsyncDisposable
{
    /// <summary>As fast as the feed allows.</summary>
    Task SendAllAsync(EventBatch batch);

    /// <summary>At <paramref name="perSecond"/>, each event on its due time.</summary>
    Task SendPacedAsync(EventBatch batch, double perSecond);
}

/// <summary>
/// Publishes to exchange <c>events</c> with key <c>events.new</c>, as Diffgram's QueueClient does, but with publisher
/// confirms awaited per batch (so the publisher is never the bottleneck and nothing is lost unnoticed).
/// </summary>
internal sealed class AmqpEventFeed : IEventFeed
{
    private const int Batch = 500;
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private AmqpEventFeed(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    public static async Task<AmqpEventFeed> ConnectAsync(string amqpUri)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(amqpUri), AutomaticRecoveryEnabled = false }.CreateConnectionAsync("actionflow-bench publisher");
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(8 * Batch)));
        return new AmqpEventFeed(connection, channel);
    }

    public async Task SendAllAsync(EventBatch batch)
    {
        var pending = new List<Task>(Batch);
        for (var start = 0; start < batch.Count; start += Batch)
        {
            pending.Clear();
            var end = Math.Min(batch.Count, start + Batch);
            for (var i = start; i < end; i++)
            {
                pending.Add(Publish(batch, i));
            }

            await Task.WhenAll(pending);
        }
    }

    public Task SendPacedAsync(EventBatch batch, double perSecond) => Paced.PublishAsync(batch.Count, perSecond, i => Publish(batch, i));

    private Task Publish(EventBatch batch, int index)
    {
        // New properties per publish: with confirm tracking the client writes a header into them.
        var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        batch.SentTicks[index] = DateTime.UtcNow.Ticks;
        return _channel.BasicPublishAsync("events", "events.new", mandatory: false, properties, batch.Bodies[index]).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.CloseAsync();
            await _connection.CloseAsync();
        }
        catch (RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            // The broker went away after the measurement (on a shared machine another test may restart it).
        }

        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

/// <summary>Inserts events into the embedded queue (the SQLite outbox table the in-process transport consumes), as the tests do.</summary>
internal sealed class EmbeddedEventFeed(IEmbeddedQueueStore queue) : IEventFeed
{
    private const int Writers = 4;

    public async Task SendAllAsync(EventBatch batch)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batch.Count)
            {
                await Enqueue(batch, i);
            }
        })));
    }

    public async Task SendPacedAsync(EventBatch batch, double perSecond)
    {
        var writes = new List<Task>(batch.Count);
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        while (sent < batch.Count)
        {
            var due = (int)Math.Min(batch.Count, Stopwatch.GetElapsedTime(started).TotalSeconds * perSecond + 1);
            for (; sent < due; sent++)
            {
                writes.Add(Enqueue(batch, sent));
            }

            if (writes.Count > 10_000)
            {
                writes.RemoveAll(t => t.IsCompletedSuccessfully);
            }

            await Task.Delay(1);
        }

        await Task.WhenAll(writes);
    }

    private Task Enqueue(EventBatch batch, int index)
    {
        var now = DateTime.UtcNow;
        batch.SentTicks[index] = now.Ticks;
        return queue.EnqueueAsync(new OutboxMessage { Queue = QueueNames.Events, Body = batch.Bodies[index], TimeCreated = now }, CancellationToken.None);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Publishes on each message's due time at a rate, then awaits every confirm (the paced scenarios and the paced baseline).</summary>
internal static class Paced
{
    public static async Task PublishAsync(int count, double perSecond, Func<int, Task> publish)
    {
        var confirms = new List<Task>(count);
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        while (sent < count)
        {
            var due = (int)Math.Min(count, Stopwatch.GetElapsedTime(started).TotalSeconds * perSecond + 1);
            for (; sent < due; sent++)
            {
                confirms.Add(publish(sent));
            }

            if (confirms.Count > 10_000)
            {
                confirms.RemoveAll(t => t.IsCompletedSuccessfully);
            }

            if (sent < count)
            {
                await Task.Delay(1);
            }
        }

        await Task.WhenAll(confirms);
    }
}
