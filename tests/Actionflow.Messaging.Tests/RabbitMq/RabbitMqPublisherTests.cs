using System.Diagnostics;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Messaging.RabbitMq;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client.Exceptions;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

public sealed class RabbitMqPublisherTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PublishAsync_QueueWasDeleted_ThrowsInsteadOfDroppingTheMessage()
    {
        var options = rabbit.NewOptions();
        await using var run = await StartAsync(options);
        await using (var channel = await rabbit.Admin.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync(options.EventsQueue, ifUnused: false, ifEmpty: false);
        }

        var error = await Assert.ThrowsAsync<PublishReturnException>(() =>
            run.Publisher.PublishAsync(QueueNames.Events, Encoding.UTF8.GetBytes("{}"), null, CancellationToken.None));
        Assert.Equal(options.EventsExchange, error.Exchange);

        // The channel stays usable for the next publish.
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Encoding.UTF8.GetBytes("{}"), null, CancellationToken.None);
        Assert.Equal(1u, await rabbit.MessageCountAsync(options.ActionsQueue));
    }

    [Fact]
    public async Task PublishAsync_NotALogicalQueue_ThrowsArgumentException()
    {
        var options = rabbit.NewOptions();
        await using var run = await StartAsync(options);

        await Assert.ThrowsAsync<ArgumentException>(() => run.Publisher.PublishAsync("event.new", Encoding.UTF8.GetBytes("{}"), null, CancellationToken.None));
    }

    [Fact]
    public async Task PublishAsync_AnyMessage_IsPersistentJsonWithMessageId()
    {
        var options = rabbit.NewOptions();
        await using var run = await StartAsync(options);

        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Encoding.UTF8.GetBytes("{}"), new Dictionary<string, string> { ["a"] = "b" }, CancellationToken.None);

        var message = await rabbit.GetAsync(options.ActionsQueue, Timeout);
        Assert.NotNull(message);
        Assert.True(message.BasicProperties.Persistent);
        Assert.Equal("application/json", message.BasicProperties.ContentType);
        Assert.False(string.IsNullOrEmpty(message.BasicProperties.MessageId));
        Assert.Equal("b", Encoding.UTF8.GetString((byte[])message.BasicProperties.Headers!["a"]!));
    }

    [Fact]
    public async Task PublishBatchAsync_ThousandsOfRows_AllConfirmedAndQueued()
    {
        var options = rabbit.NewOptions();
        await using var run = await StartAsync(options);
        var publisher = run.Host.Services.GetRequiredService<RabbitMqPublisher>();
        var body = new byte[340];
        Array.Fill(body, (byte)'x');
        var rows = Enumerable.Range(1, 5000).Select(i => new OutboxMessage { Id = i, Queue = QueueNames.ActionTriggers, Body = body }).ToList();

        await publisher.PublishBatchAsync(rows.Take(500).ToList(), CancellationToken.None); // warm-up
        var watch = Stopwatch.StartNew();
        for (var start = 0; start < rows.Count; start += OutboxRelayService.BatchSize)
        {
            await publisher.PublishBatchAsync(rows.Skip(start).Take(OutboxRelayService.BatchSize).ToList(), CancellationToken.None);
        }

        watch.Stop();
        output.WriteLine($"5000 persistent 340 B messages, batches of 500, confirmed: {watch.ElapsedMilliseconds} ms = {5000 / watch.Elapsed.TotalSeconds:0} msg/s");
        Assert.Equal(5500u, await rabbit.MessageCountAsync(options.ActionsQueue));
    }

    [Fact]
    public async Task OutboxRelay_RowsInStore_PublishedWithHeadersAndDeleted()
    {
        var options = rabbit.NewOptions();
        var store = new FakeOutboxStore(
        [
            new OutboxMessage { Id = 1, Queue = QueueNames.ActionTriggers, Body = Encoding.UTF8.GetBytes("{\"event_id\":1}"), Headers = "{\"x-actionflow-event-id\":\"1\"}" },
            new OutboxMessage { Id = 2, Queue = QueueNames.Events, Body = Encoding.UTF8.GetBytes("{\"id\":2}") },
            new OutboxMessage { Id = 3, Queue = "no-such-queue", Body = Encoding.UTF8.GetBytes("{}") },
        ]);
        using var host = MessagingHost.Build(output, services =>
        {
            services.AddSingleton<IOutboxStore>(store);
            services.AddRabbitMqMessaging(options);
        });
        await host.StartAsync();
        try
        {
            await Wait.UntilAsync(() => store.Count == 0, Timeout, "the relay emptied the outbox");

            var trigger = await rabbit.GetAsync(options.ActionsQueue, Timeout);
            Assert.NotNull(trigger);
            Assert.Equal("outbox-1", trigger.BasicProperties.MessageId);
            Assert.Equal("1", Encoding.UTF8.GetString((byte[])trigger.BasicProperties.Headers![MessageHeaders.EventId]!));
            Assert.NotNull(await rabbit.GetAsync(options.EventsQueue, Timeout));
            var parked = await rabbit.GetAsync(options.DeadLetterQueue, Timeout);
            Assert.NotNull(parked);
            Assert.Contains("no-such-queue", Encoding.UTF8.GetString((byte[])parked.BasicProperties.Headers![MessageHeaders.DeadLetterReason]!), StringComparison.Ordinal);

            // A notified commit is relayed without waiting for the poll.
            store.Add(new OutboxMessage { Id = 4, Queue = QueueNames.ActionTriggers, Body = Encoding.UTF8.GetBytes("{}") });
            host.Services.GetRequiredService<IOutboxSignal>().Notify(QueueNames.ActionTriggers);
            await Wait.UntilAsync(async () => await rabbit.MessageCountAsync(options.ActionsQueue) == 1, Timeout, "the new row was relayed");
        }
        finally
        {
            await host.StopAsync();
            await rabbit.DeleteTopologyAsync(options);
        }
    }

    private async Task<RunningHost> StartAsync(MessagingOptions options)
    {
        var host = MessagingHost.RabbitMq(output, options);
        await host.StartAsync();
        return new RunningHost(host, () => rabbit.DeleteTopologyAsync(options));
    }

    private sealed class FakeOutboxStore(IEnumerable<OutboxMessage> rows) : IOutboxStore
    {
        private readonly List<OutboxMessage> _rows = [.. rows];
        private readonly SemaphoreSlim _gate = new(1, 1);

        public int Count
        {
            get
            {
                lock (_rows)
                {
                    return _rows.Count;
                }
            }
        }

        public void Add(OutboxMessage row)
        {
            lock (_rows)
            {
                _rows.Add(row);
            }
        }

        public Task<DateTime?> NextDueAsync(DateTime now, CancellationToken cancellationToken) => Task.FromResult<DateTime?>(null);

        public async Task<int> RelayAsync(int max, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                List<OutboxMessage> batch;
                lock (_rows)
                {
                    batch = _rows.Take(max).ToList();
                }

                if (batch.Count == 0)
                {
                    return 0;
                }

                await publish(batch, cancellationToken);
                lock (_rows)
                {
                    _rows.RemoveAll(batch.Contains);
                }

                return batch.Count;
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
