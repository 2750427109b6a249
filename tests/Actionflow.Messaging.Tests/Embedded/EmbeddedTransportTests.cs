using System.Collections.Concurrent;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Messaging.Embedded;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.Embedded;

public sealed class EmbeddedTransportTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeEmbeddedQueueStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    [Fact]
    public async Task PublishAsync_Message_IsEnqueuedWithHeadersAndWakesTheConsumers()
    {
        using var host = Build(new MessagingOptions());
        var publisher = host.Services.GetRequiredService<IMessagePublisher>();
        Assert.IsType<EmbeddedPublisher>(publisher);

        await publisher.PublishAsync(QueueNames.Events, Encoding.UTF8.GetBytes("{\"kind\":\"task_completed\"}"),
            new Dictionary<string, string> { [MessageHeaders.EventId] = "7" }, CancellationToken.None);

        var row = Assert.Single(_store.Rows());
        Assert.Equal(QueueNames.Events, row.Queue);
        Assert.Equal("{\"kind\":\"task_completed\"}", Encoding.UTF8.GetString(row.Body));
        Assert.Equal("{\"x-actionflow-event-id\":\"7\"}", row.Headers);
        Assert.Equal(Now, row.TimeCreated);
        var woken = host.Services.GetRequiredService<IOutboxSignal>().WaitAsync(QueueNames.Events, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(woken.IsCompleted, "the signal was notified");
    }

    [Fact]
    public async Task Consume_HandlerAcks_MessageIsDeleted()
    {
        var id = _store.Add(QueueNames.Events, "e1", availableAt: Now.AddMinutes(3), headers: "{\"a\":\"b\"}");
        var handler = TestHandler.Acking(QueueNames.Events);
        using var host = Build(new MessagingOptions(), handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => _store.Deleted.Contains(id), Timeout, "the message was deleted");
        await host.StopAsync();

        Assert.Equal(1, _store.ReleaseAllCalls);
        var message = Assert.Single(handler.Received);
        Assert.Equal("e1", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Equal("b", message.Headers["a"]);
        Assert.Equal(1, message.DeliveryCount);
        Assert.False(message.Redelivered);
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public async Task Consume_HandlerDeadLetters_MessageIsDeadLetteredWithReasonAndNextIsProcessed()
    {
        var poison = _store.Add(QueueNames.ActionTriggers, "poison");
        var good = _store.Add(QueueNames.ActionTriggers, "good");
        var handler = new TestHandler(QueueNames.ActionTriggers, message =>
            Encoding.UTF8.GetString(message.Body.Span) == "poison" ? Verdict.DeadLetter("not a trigger", typeof(FormatException).FullName) : Verdict.Done);
        using var host = Build(new MessagingOptions(), handler);
        long counted = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Actionflow.Core.Engine.ActionflowMetrics.MeterName && instrument.Name == "actionflow.messages.dead_lettered")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "queue" && (string?)tag.Value == QueueNames.ActionTriggers)
                {
                    Interlocked.Add(ref counted, value);
                }
            }
        });
        listener.Start();
        await host.StartAsync();

        await Wait.UntilAsync(() => _store.Deleted.Contains(good) && !_store.DeadLetters.IsEmpty, Timeout, "both messages were settled");
        await host.StopAsync();
        Assert.True(Interlocked.Read(ref counted) >= 1, "the dead letter is counted in the actionflow.messages.dead_lettered metric");

        var dead = Assert.Single(_store.DeadLetters);
        Assert.Equal(poison, dead.Message.Id);
        Assert.Equal("not a trigger", dead.Reason);
        Assert.Equal(typeof(FormatException).FullName, dead.ExceptionType);
        Assert.Equal(Now, dead.Now);
    }

    [Fact]
    public async Task Consume_HandlerReturnsRetry_RescheduledAndDeliveredAgainOnlyAfterTheDelay()
    {
        var id = _store.Add(QueueNames.ActionTriggers, "t1");
        var handler = new TestHandler(QueueNames.ActionTriggers, message =>
            message.DeliveryCount == 1 ? Verdict.Retry(TimeSpan.FromSeconds(10), "previous step running") : Verdict.Done);
        using var host = Build(new MessagingOptions(), handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => !_store.Rescheduled.IsEmpty, Timeout, "the message was rescheduled");
        Assert.Equal((id, Now.AddSeconds(10)), Assert.Single(_store.Rescheduled));
        // The consumer has looked for due messages twice more since (the clock has not moved) and found this one hidden.
        var looked = _store.LeaseCalls(QueueNames.ActionTriggers);
        await Wait.UntilAsync(() => _store.LeaseCalls(QueueNames.ActionTriggers) >= looked + 2, Timeout, "the consumer polled again");
        Assert.Single(handler.Received);

        _time.Advance(TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(() => _store.Deleted.Contains(id), Timeout, "the retried message was acked");
        await host.StopAsync();
        Assert.Equal([1, 2], handler.Received.Select(m => m.DeliveryCount));
        Assert.True(handler.Received.Last().Redelivered);
    }

    [Fact]
    public async Task Consume_HandlerThrows_RescheduledWithBackoffAndDeliveredAgain()
    {
        var id = _store.Add(QueueNames.Events, "e1");
        var handler = new TestHandler(QueueNames.Events, message =>
            message.DeliveryCount == 1 ? throw new TimeoutException("database unavailable") : Verdict.Done);
        using var host = Build(new MessagingOptions { RetryBackoff = TimeSpan.FromSeconds(1) }, handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => !_store.Rescheduled.IsEmpty, Timeout, "the failed message was rescheduled");
        Assert.Equal((id, Now.AddSeconds(1)), Assert.Single(_store.Rescheduled));
        _time.Advance(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => _store.Deleted.Contains(id), Timeout, "the message was handled on its second delivery");
        await host.StopAsync();
        Assert.Empty(_store.DeadLetters);
    }

    [Fact]
    public async Task Consume_HandlerConsumesTheRowInItsOwnWrite_NothingMoreIsSettledEvenWhenItFailsAfterwards()
    {
        var options = new MessagingOptions { DeliveryLimit = 1 };
        var done = _store.Add(QueueNames.Events, "done");
        var failsAfter = _store.Add(QueueNames.Events, "fails-after");
        var receipts = new ConcurrentDictionary<long, long>();
        var handler = new TestHandler(QueueNames.Events, message =>
        {
            // As the SQLite accept does: the row is deleted by the handler's own committed transaction.
            var receipt = Assert.IsType<QueueReceipt>(message.Receipt);
            receipts[receipt.RowId] = receipt.RowId;
            _store.RemoveRow(receipt.RowId);
            receipt.MarkConsumed();
            return Encoding.UTF8.GetString(message.Body.Span) == "fails-after" ? throw new InvalidOperationException("after the commit") : Verdict.Done;
        });
        using var host = Build(options, handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => handler.Received.Count == 2, Timeout, "both messages were handled");
        // Stopping waits for the running handlers and their settlement.
        await host.StopAsync();

        Assert.Equal([done, failsAfter], receipts.Keys.Order());
        Assert.Empty(_store.Deleted);
        Assert.Empty(_store.Rescheduled);
        Assert.Empty(_store.DeadLetters);
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public async Task Consume_HandlerThrowsPastDeliveryLimit_DeadLetteredWithTheError()
    {
        var options = new MessagingOptions { DeliveryLimit = 3 };
        _store.Add(QueueNames.Events, "doomed", deliveries: 3);
        var handler = new TestHandler(QueueNames.Events, _ => throw new InvalidOperationException("boom"));
        using var host = Build(options, handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => !_store.DeadLetters.IsEmpty, Timeout, "the message was dead-lettered");
        await host.StopAsync();

        var dead = Assert.Single(_store.DeadLetters);
        Assert.Equal(4, dead.Message.Deliveries);
        Assert.Contains("boom", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.ExceptionType);
        Assert.Empty(_store.Rescheduled);
    }

    [Fact]
    public async Task Consume_ManyMessages_RunsAtMostConcurrencyHandlersAtOnce()
    {
        for (var i = 0; i < 12; i++)
        {
            _store.Add(QueueNames.Events, $"m{i}");
        }

        var handler = new TestHandler(QueueNames.Events, async (_, token) =>
        {
            await Task.Delay(200, token);
            return Verdict.Done;
        });
        using var host = Build(new MessagingOptions { Concurrency = 3 }, handler);
        await host.StartAsync();

        await Wait.UntilAsync(() => _store.Deleted.Count == 12, Timeout, "all messages were handled");
        await host.StopAsync();
        Assert.Equal(3, handler.MaxConcurrent);
    }

    [Fact]
    public async Task Consume_StoreFailsToLease_RetriesAfterBackoffWithoutStopping()
    {
        _store.LeaseFailure = new InvalidOperationException("database is locked");
        var id = _store.Add(QueueNames.Events, "e1");
        var handler = TestHandler.Acking(QueueNames.Events);
        using var host = Build(new MessagingOptions(), handler);
        await host.StartAsync();
        await Wait.UntilAsync(() => _store.LeaseFailures >= 1, Timeout, "the consumer tried to lease and the store failed");
        Assert.Empty(handler.Received);

        _store.LeaseFailure = null;
        await Wait.UntilAsync(() =>
        {
            // The consumer waits out its backoff on the injected clock.
            _time.Advance(TimeSpan.FromSeconds(1));
            return _store.Deleted.Contains(id);
        }, Timeout, "the message was handled once the store recovered");
        await host.StopAsync();
    }

    [Fact]
    public async Task StopAsync_HandlerOutlastsGracePeriod_HandlerIsCancelledAndMessageReleased()
    {
        var id = _store.Add(QueueNames.ActionTriggers, "long");
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
        using var host = Build(new MessagingOptions { ShutdownGracePeriod = TimeSpan.FromMilliseconds(200) }, handler);
        await host.StartAsync();
        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler started");

        await host.StopAsync();

        Assert.True(cancelled);
        Assert.Equal((id, Now), Assert.Single(_store.Rescheduled));
        Assert.Equal(Now, _store.Find(id)!.AvailableAt);
        Assert.Empty(_store.Deleted);
    }

    [Fact]
    public async Task StopAsync_HandlerFinishesWithinGracePeriod_MessageIsDeleted()
    {
        var id = _store.Add(QueueNames.ActionTriggers, "short");
        var handler = new TestHandler(QueueNames.ActionTriggers, async (_, token) =>
        {
            await Task.Delay(300, token);
            return Verdict.Done;
        });
        using var host = Build(new MessagingOptions { ShutdownGracePeriod = TimeSpan.FromSeconds(10) }, handler);
        await host.StartAsync();
        await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "the handler started");

        await host.StopAsync();

        Assert.Equal([id], _store.Deleted);
    }

    private IHost Build(MessagingOptions options, params IMessageHandler[] handlers) =>
        MessagingHost.Build(output, services =>
        {
            services.AddSingleton<IEmbeddedQueueStore>(_store);
            services.AddSingleton<TimeProvider>(_time);
            foreach (var handler in handlers)
            {
                services.AddSingleton(handler);
            }

            services.AddEmbeddedMessaging(options);
        });
}
