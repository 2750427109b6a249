using System.Collections.Concurrent;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

public sealed class RabbitMqConsumerTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PublishAsync_EventsQueue_HandlerGetsBodyAndHeadersAndMessageIsAcked()
    {
        var options = rabbit.NewOptions();
        var handler = TestHandler.Acking(QueueNames.Events);
        await using var run = await StartAsync(options, handler);

        await run.Publisher.PublishAsync(QueueNames.Events, Body("{\"kind\":\"task_completed\"}"),
            new Dictionary<string, string> { [MessageHeaders.EventId] = "42" }, CancellationToken.None);

        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler got the message");
        var message = Assert.Single(handler.Received);
        Assert.Equal(QueueNames.Events, message.Queue);
        Assert.Equal("{\"kind\":\"task_completed\"}", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Equal("42", message.Headers[MessageHeaders.EventId]);
        Assert.Equal(1, message.DeliveryCount);
        Assert.False(message.Redelivered);

        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.EventsQueue);
    }

    [Fact]
    public async Task HandleAsync_ReturnsDeadLetter_MessageGoesToDeadLetterQueueWithReasonAndNextIsProcessed()
    {
        var options = rabbit.NewOptions();
        var handler = new TestHandler(QueueNames.ActionTriggers, message =>
            Encoding.UTF8.GetString(message.Body.Span) == "poison"
                ? Verdict.DeadLetter("not a trigger message", typeof(FormatException).FullName)
                : Verdict.Done);
        await using var run = await StartAsync(options, handler);

        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("poison"), new Dictionary<string, string> { ["x-trace"] = "abc" }, CancellationToken.None);
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("good"), null, CancellationToken.None);

        await Wait.UntilAsync(() => handler.Bodies().Contains("good"), Timeout, "the next message was processed");
        var dead = await rabbit.GetAsync(options.DeadLetterQueue, Timeout);
        Assert.NotNull(dead);
        Assert.Equal("poison", Encoding.UTF8.GetString(dead.Body.Span));
        var headers = Headers(dead.BasicProperties.Headers);
        Assert.Equal("not a trigger message", headers[MessageHeaders.DeadLetterReason]);
        Assert.Equal(typeof(FormatException).FullName, headers[MessageHeaders.ExceptionType]);
        Assert.Equal(options.ActionsQueue, headers[MessageHeaders.OriginalQueue]);
        Assert.Equal("1", headers[MessageHeaders.Deliveries]);
        Assert.Equal("abc", headers["x-trace"]);
        Assert.True(dead.BasicProperties.Persistent);

        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.ActionsQueue);
        await rabbit.AssertStaysEmptyAsync(options.DeadLetterQueue);
    }

    [Fact]
    public async Task HandleAsync_Throws_MessageIsDeliveredAgain()
    {
        var options = rabbit.NewOptions();
        var handler = new TestHandler(QueueNames.Events, message =>
            message.DeliveryCount == 1 ? throw new TimeoutException("database unavailable") : Verdict.Done);
        await using var run = await StartAsync(options, handler);

        await run.Publisher.PublishAsync(QueueNames.Events, Body("e1"), null, CancellationToken.None);

        await Wait.UntilAsync(() => handler.Received.Count >= 2, Timeout, "the message came again");
        var again = handler.Received.ToArray()[1];
        Assert.Equal("e1", Encoding.UTF8.GetString(again.Body.Span));
        Assert.Equal(2, again.DeliveryCount);
        Assert.True(again.Redelivered);

        await run.StopAsync();
        Assert.Equal(2, handler.Received.Count);
        await rabbit.AssertStaysEmptyAsync(options.EventsQueue);
        await rabbit.AssertStaysEmptyAsync(options.DeadLetterQueue);
    }

    [Fact]
    public async Task HandleAsync_AlwaysThrows_DeadLetteredWithTheErrorAfterDeliveryLimit()
    {
        var options = rabbit.NewOptions();
        options.DeliveryLimit = 2;
        var handler = new TestHandler(QueueNames.Events, _ => throw new InvalidOperationException("boom"));
        await using var run = await StartAsync(options, handler);

        await run.Publisher.PublishAsync(QueueNames.Events, Body("doomed"), null, CancellationToken.None);

        var dead = await rabbit.GetAsync(options.DeadLetterQueue, Timeout);
        Assert.NotNull(dead);
        var headers = Headers(dead.BasicProperties.Headers);
        output.WriteLine($"deliveries seen by the handler: {string.Join(", ", handler.Received.Select(m => m.DeliveryCount))}");
        Assert.Equal([1, 2, 3], handler.Received.Select(m => m.DeliveryCount));
        Assert.Equal("3", headers[MessageHeaders.Deliveries]);
        Assert.Contains("boom", headers[MessageHeaders.DeadLetterReason], StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, headers[MessageHeaders.ExceptionType]);

        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.EventsQueue);
    }

    [Fact]
    public async Task HandleAsync_ReturnsRetry_MessageIsDeliveredAgainAfterTheDelay()
    {
        var options = rabbit.NewOptions();
        var handler = new TestHandler(QueueNames.ActionTriggers, message =>
            message.DeliveryCount == 1 ? Verdict.Retry(TimeSpan.FromMilliseconds(400), "previous step still running") : Verdict.Done);
        await using var run = await StartAsync(options, handler);

        var published = DateTime.UtcNow;
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("t1"), null, CancellationToken.None);

        await Wait.UntilAsync(() => handler.Received.Count >= 2, Timeout, "the message came again");
        var waited = DateTime.UtcNow - published;
        Assert.True(waited >= TimeSpan.FromMilliseconds(400), $"redelivered after {waited.TotalMilliseconds} ms");
        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.ActionsQueue);
    }

    [Fact]
    public async Task Consume_ManySlowMessages_RunsHandlersConcurrentlyUpToTheLimit()
    {
        var options = rabbit.NewOptions();
        options.Concurrency = 3;
        var handler = new TestHandler(QueueNames.Events, async (_, token) =>
        {
            await Task.Delay(200, token);
            return Verdict.Done;
        });
        await using var run = await StartAsync(options, handler);

        for (var i = 0; i < 12; i++)
        {
            await run.Publisher.PublishAsync(QueueNames.Events, Body($"m{i}"), null, CancellationToken.None);
        }

        await Wait.UntilAsync(() => handler.Received.Count == 12, Timeout, "all 12 messages were handled");
        Assert.InRange(handler.MaxConcurrent, 2, 3);
        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.EventsQueue);
    }

    [Fact]
    public async Task Consume_HandlersReadTheirBodiesAfterAwaiting_EachSeesItsOwnMessage()
    {
        // Handlers run on after the client's dispatch callback has returned (and the client has reused its buffer for
        // the next delivery): each must still read the body it was given.
        var options = rabbit.NewOptions();
        options.Concurrency = 8;
        var mismatches = new ConcurrentQueue<string>();
        var handler = new TestHandler(QueueNames.Events, async (message, token) =>
        {
            var before = Encoding.UTF8.GetString(message.Body.Span);
            await Task.Delay(50, token);
            var after = Encoding.UTF8.GetString(message.Body.Span);
            if (before != after || !after.StartsWith("message-", StringComparison.Ordinal))
            {
                mismatches.Enqueue($"{before} -> {after}");
            }

            return Verdict.Done;
        });
        await using var run = await StartAsync(options, handler);

        for (var i = 0; i < 200; i++)
        {
            await run.Publisher.PublishAsync(QueueNames.Events, Body($"message-{i:D4}-{new string((char)('a' + (i % 26)), 64 + i % 50)}"), null, CancellationToken.None);
        }

        await Wait.UntilAsync(() => handler.Received.Count == 200, Timeout, "all 200 messages were handled");
        Assert.Empty(mismatches);
        Assert.Equal(200, handler.Received.Select(m => Encoding.UTF8.GetString(m.Body.Span)).Distinct().Count());
        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.EventsQueue);
    }

    [Fact]
    public async Task Consume_DeadLetteredAfterOthersWereDelivered_EachDeadLetterCarriesItsOwnBody()
    {
        // A body's buffer is pooled: it must not go back (and be filled with a later delivery) before the delivery is
        // settled, here by a dead letter published after the handler awaited while other messages came in.
        var options = rabbit.NewOptions();
        options.Concurrency = 8;
        var handler = new TestHandler(QueueNames.Events, async (message, token) =>
        {
            await Task.Delay(20, token);
            return Encoding.UTF8.GetString(message.Body.Span).StartsWith("dead-", StringComparison.Ordinal)
                ? Verdict.DeadLetter("parked by the test")
                : Verdict.Done;
        });
        await using var run = await StartAsync(options, handler);

        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 60; i++)
        {
            var body = $"{(i % 2 == 0 ? "dead" : "live")}-{i:D3}-{new string((char)('a' + (i % 26)), 40 + i)}";
            if (i % 2 == 0)
            {
                expected.Add(body);
            }

            await run.Publisher.PublishAsync(QueueNames.Events, Body(body), null, CancellationToken.None);
        }

        await Wait.UntilAsync(() => handler.Received.Count == 60, Timeout, "all 60 messages were handled");
        var deadLettered = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < expected.Count; i++)
        {
            var dead = await rabbit.GetAsync(options.DeadLetterQueue, Timeout);
            Assert.NotNull(dead);
            deadLettered.Add(Encoding.UTF8.GetString(dead.Body.Span));
        }

        Assert.Equal(expected.Order(StringComparer.Ordinal), deadLettered.Order(StringComparer.Ordinal));
        await run.StopAsync();
        await rabbit.AssertStaysEmptyAsync(options.DeadLetterQueue);
    }

    [Fact]
    public async Task StopAsync_HandlerOutlastsGracePeriod_HandlerIsCancelledAndMessageGoesBack()
    {
        var options = rabbit.NewOptions();
        options.ShutdownGracePeriod = TimeSpan.FromMilliseconds(300);
        var cancelled = false;
        var handler = new TestHandler(QueueNames.ActionTriggers, async (_, token) =>
        {
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                throw;
            }

            return Verdict.Done;
        });
        await using var run = await StartAsync(options, handler);
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("long"), null, CancellationToken.None);
        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler started");

        var stopping = DateTime.UtcNow;
        await run.StopAsync();
        var stopTime = DateTime.UtcNow - stopping;

        Assert.True(cancelled, "the handler's token was cancelled");
        Assert.True(stopTime < TimeSpan.FromSeconds(5), $"stop took {stopTime.TotalMilliseconds} ms");
        var back = await rabbit.GetAsync(options.ActionsQueue, Timeout);
        Assert.NotNull(back);
        Assert.Equal("long", Encoding.UTF8.GetString(back.Body.Span));
        Assert.True(back.Redelivered);
    }

    [Fact]
    public async Task StopAsync_HandlerFinishesWithinGracePeriod_MessageIsAcked()
    {
        var options = rabbit.NewOptions();
        options.ShutdownGracePeriod = TimeSpan.FromSeconds(10);
        var finished = false;
        var handler = new TestHandler(QueueNames.ActionTriggers, async (_, token) =>
        {
            await Task.Delay(700, token);
            finished = true;
            return Verdict.Done;
        });
        await using var run = await StartAsync(options, handler);
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("short"), null, CancellationToken.None);
        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler started");

        await run.StopAsync();

        Assert.True(finished);
        await rabbit.AssertStaysEmptyAsync(options.ActionsQueue);
    }

    [Fact]
    public async Task StopAsync_MessageWaitingToBeRetried_ReturnsItWithoutWaitingForTheGracePeriod()
    {
        var options = rabbit.NewOptions();
        options.ShutdownGracePeriod = TimeSpan.FromSeconds(30);
        var handler = new TestHandler(QueueNames.ActionTriggers, _ => Verdict.Retry(TimeSpan.FromMinutes(5), "not yet"));
        await using var run = await StartAsync(options, handler);
        await run.Publisher.PublishAsync(QueueNames.ActionTriggers, Body("later"), null, CancellationToken.None);
        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler asked for a retry");

        var stopping = DateTime.UtcNow;
        await run.StopAsync();

        Assert.True(DateTime.UtcNow - stopping < TimeSpan.FromSeconds(5), "stop did not wait for the retry delay");
        // A quorum queue counts a returned message a moment after the channel closed.
        await Wait.UntilAsync(async () => await rabbit.MessageCountAsync(options.ActionsQueue) == 1, Timeout, "the message is back in the queue");
    }

    [Fact]
    public async Task Consume_QueueDeletedWhileConsuming_QueueIsDeclaredAgainAndConsumingResumes()
    {
        var options = rabbit.NewOptions();
        var handler = TestHandler.Acking(QueueNames.Events);
        await using var run = await StartAsync(options, handler);
        await run.Publisher.PublishAsync(QueueNames.Events, Body("before"), null, CancellationToken.None);
        await Wait.UntilAsync(() => handler.Received.Count == 1, Timeout, "the consumer works");

        await using (var channel = await rabbit.Admin.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync(options.EventsQueue, ifUnused: false, ifEmpty: false);
        }

        await Wait.UntilAsync(async () =>
        {
            try
            {
                await run.Publisher.PublishAsync(QueueNames.Events, Body("after"), null, CancellationToken.None);
                return true;
            }
            catch (RabbitMQ.Client.Exceptions.PublishReturnException)
            {
                return false;
            }
        }, Timeout, "the queue was declared again");
        await Wait.UntilAsync(() => handler.Bodies().Contains("after"), Timeout, "consuming resumed");
    }

    private async Task<RunningHost> StartAsync(MessagingOptions options, params IMessageHandler[] handlers)
    {
        var host = MessagingHost.RabbitMq(output, options, handlers);
        await host.StartAsync();
        return new RunningHost(host, () => rabbit.DeleteTopologyAsync(options));
    }

    private static ReadOnlyMemory<byte> Body(string text) => Encoding.UTF8.GetBytes(text);

    private static Dictionary<string, string> Headers(IDictionary<string, object?>? headers) =>
        headers!.Where(h => h.Value is byte[]).ToDictionary(h => h.Key, h => Encoding.UTF8.GetString((byte[])h.Value!));
}

/// <summary>A started host; stopping twice is fine; disposal stops it and removes the test's topology.</summary>
public sealed class RunningHost(IHost host, Func<Task> cleanup) : IAsyncDisposable
{
    private bool _stopped;

    public IHost Host => host;

    public IMessagePublisher Publisher => host.Services.GetRequiredService<IMessagePublisher>();

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            host.Dispose();
            await cleanup();
        }
    }
}
