using System.Collections.Concurrent;
using System.Threading.Channels;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Scheduling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Core.Tests.Scheduling;

/// <summary>The scheduler's and the window processor's sleep, on a fake clock: no real time passes in these tests.</summary>
public sealed class SchedulerLoopTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private static IOptions<EngineOptions> Options(TimeSpan? poll = null) =>
        Microsoft.Extensions.Options.Options.Create(new EngineOptions { SchedulerPollInterval = poll ?? TimeSpan.FromSeconds(5), WindowPollInterval = TimeSpan.FromSeconds(1) });

    [Fact]
    public async Task PassAsync_NothingDue_SleepsUntilTheEarliestDueTimeButNoLongerThanThePollInterval()
    {
        var clock = new FakeTimeProvider(T0);
        var store = new FakeScheduleStore { Next = T0.UtcDateTime.AddSeconds(2) };
        var scheduler = new CronScheduler(store, new OutboxSignal(), Options(), clock, NullLogger<CronScheduler>.Instance);

        Assert.Equal(TimeSpan.FromSeconds(2), await scheduler.PassAsync(default));
        store.Next = T0.UtcDateTime.AddHours(1);
        Assert.Equal(TimeSpan.FromSeconds(5), await scheduler.PassAsync(default));
        store.Next = null;
        Assert.Equal(TimeSpan.FromSeconds(5), await scheduler.PassAsync(default));
    }

    [Fact]
    public async Task PassAsync_DueButHeldByAnotherWorker_LooksAgainShortlyInsteadOfSpinning()
    {
        var store = new FakeScheduleStore { Next = T0.UtcDateTime.AddSeconds(-1) };
        var scheduler = new CronScheduler(store, new OutboxSignal(), Options(), new FakeTimeProvider(T0), NullLogger<CronScheduler>.Instance);

        var wait = await scheduler.PassAsync(default);

        Assert.InRange(wait, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task ExecuteAsync_FakeClock_ArmsItsSleepForTheDueTimeAndFiresWhenTheClockReachesIt()
    {
        var clock = new FakeTimeProvider(T0);
        var armed = new TimerCountingClock(clock);
        var store = new FakeScheduleStore { Next = T0.UtcDateTime.AddSeconds(10) };
        var scheduler = new CronScheduler(store, new OutboxSignal(), Options(TimeSpan.FromMinutes(1)), armed, NullLogger<CronScheduler>.Instance);
        await scheduler.StartAsync(default);
        try
        {
            await store.Passes.Take(1);
            // What the loop will sleep for is observed, not inferred from a quiet interval: the timer it armed.
            Assert.Equal(TimeSpan.FromSeconds(10), await armed.NextDueTimeAsync());

            clock.Advance(TimeSpan.FromSeconds(10));

            Assert.True(await store.Passes.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal([T0.UtcDateTime, T0.UtcDateTime.AddSeconds(10)], store.Calls.Take(2));
        }
        finally
        {
            await scheduler.StopAsync(default);
        }
    }

    [Fact]
    public async Task ExecuteAsync_ScheduleChangedInThisProcess_LooksAgainAtOnceWithoutTheClockMoving()
    {
        var clock = new FakeTimeProvider(T0);
        var signal = new OutboxSignal();
        var store = new FakeScheduleStore { Next = T0.UtcDateTime.AddHours(1) };
        var scheduler = new CronScheduler(store, signal, Options(TimeSpan.FromMinutes(1)), clock, NullLogger<CronScheduler>.Instance);
        await scheduler.StartAsync(default);
        try
        {
            await store.Passes.Take(1);

            signal.Notify(CronScheduler.Signal);

            Assert.True(await store.Passes.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal([T0.UtcDateTime, T0.UtcDateTime], store.Calls.Take(2));
        }
        finally
        {
            await scheduler.StopAsync(default);
        }
    }

    [Fact]
    public async Task WindowProcessor_PassAsync_SleepsUntilTheEarliestWindowClosesButNoLongerThanThePollInterval()
    {
        var clock = new FakeTimeProvider(T0);
        var store = new FakeWindowStore { Next = T0.UtcDateTime.AddMilliseconds(400) };
        var processor = new WindowProcessor(store, new TriggerIndex(), new OutboxSignal(), Options(), clock, NullLogger<WindowProcessor>.Instance);

        Assert.Equal(TimeSpan.FromMilliseconds(400), await processor.PassAsync(default));
        store.Next = T0.UtcDateTime.AddMinutes(5);
        Assert.Equal(TimeSpan.FromSeconds(1), await processor.PassAsync(default));
        store.Pass = new WindowPass(3, 10, 1, 0);
        Assert.Equal(TimeSpan.Zero, await processor.PassAsync(default));
    }

    [Fact]
    public void DueWakeups_ManyDueTimes_HoldOneTimerAtTheEarliestAndWakeThenOnly()
    {
        var clock = new FakeTimeProvider(T0);
        var counting = new TimerCountingClock(clock);
        var signal = new CountingSignal();
        using var wakeups = new DueWakeups(signal, counting);
        for (var i = 1000; i >= 1; i--)
        {
            wakeups.At(QueueNames.ActionTriggers, T0.UtcDateTime.AddSeconds(i));
        }

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, signal.Count);
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(1, signal.Count);
        // Later times were not kept (the poller asks the store for them): no timer fires again.
        clock.Advance(TimeSpan.FromSeconds(2000));
        Assert.Equal(1, signal.Count);
        Assert.Equal(1, counting.Created);
    }

    [Fact]
    public void DueWakeups_TimeThatHasPassed_WakesAtOnce()
    {
        var signal = new CountingSignal();
        using var wakeups = new DueWakeups(signal, new FakeTimeProvider(T0));

        wakeups.At(QueueNames.ActionTriggers, T0.UtcDateTime.AddSeconds(-1));

        Assert.Equal(1, signal.Count);
    }

    private sealed class FakeScheduleStore : IScheduleStore
    {
        public DateTime? Next { get; set; }

        public ConcurrentQueue<DateTime> Calls { get; } = new();

        public PassCounter Passes { get; } = new();

        public Task<SchedulePass> FireDueAsync(DateTime now, int max, Func<Schedule, ScheduleFirePlan> plan, CancellationToken cancellationToken)
        {
            Calls.Enqueue(now);
            Passes.Add();
            return Task.FromResult(SchedulePass.Empty);
        }

        public Task<DateTime?> NextDueAsync(CancellationToken cancellationToken) => Task.FromResult(Next);
    }

    private sealed class FakeWindowStore : IWindowStore
    {
        public DateTime? Next { get; set; }

        public WindowPass Pass { get; set; } = WindowPass.Empty;

        public Task<WindowPass> ProcessAsync(DateTime now, int maxKeys, Func<long, WindowedStep?> stepOf, CancellationToken cancellationToken) => Task.FromResult(Pass);

        public Task<DateTime?> NextCloseAsync(CancellationToken cancellationToken) => Task.FromResult(Next);
    }

    private sealed class PassCounter
    {
        private readonly SemaphoreSlim _passes = new(0);

        public void Add() => _passes.Release();

        public async Task Take(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _passes.WaitAsync(TimeSpan.FromSeconds(10)), "the loop made no pass");
            }
        }

        public Task<bool> WaitAsync(TimeSpan timeout) => _passes.WaitAsync(timeout);
    }

    private sealed class CountingSignal : IOutboxSignal
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Notify(string queue) => Interlocked.Increment(ref _count);

        public Task WaitAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>A fake clock that counts the timers created on it.</summary>
internal sealed class TimerCountingClock(FakeTimeProvider inner) : TimeProvider
{
    private int _created;

    public int Created => Volatile.Read(ref _created);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    private readonly Channel<TimeSpan> _dueTimes = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _created);
        _dueTimes.Writer.TryWrite(dueTime);
        return inner.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>The due time of the next timer created on this clock, waiting (10 s at most) until one is.</summary>
    public async Task<TimeSpan> NextDueTimeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _dueTimes.Reader.ReadAsync(timeout.Token);
    }
}
