using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Actionflow.Core.Engine;

namespace Actionflow.Core.Tests;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task SubmitAsync_ConcurrentItems_WrittenInFewBatchesEachCallerGetsItsOwnResult()
    {
        var batches = new List<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<int, string>(
            "test",
            async items =>
            {
                lock (batches)
                {
                    batches.Add(items.Count);
                }

                await gate.Task; // the first flush is slow: everything else queues behind it
                return [.. items.Select(i => $"r{i}")];
            },
            i => Task.FromResult($"one{i}"),
            maxBatch: 50);

        var tasks = Enumerable.Range(0, 120).Select(i => commit.SubmitAsync(i, default)).ToList();
        gate.SetResult();
        var results = await Task.WhenAll(tasks);

        // A flush that finds a single item queued writes it alone (flushOne); every other item went through a batch.
        Assert.All(results.Select((r, i) => (r, i)), x => Assert.Contains(x.r, new[] { $"r{x.i}", $"one{x.i}" }));
        Assert.Equal(results.Count(r => r.StartsWith('r')), batches.Sum());
        Assert.All(batches, size => Assert.InRange(size, 2, 50));
        Assert.InRange(batches.Count, 3, 5);
    }

    [Fact]
    public async Task SubmitAsync_CallersReleasedTogether_WrittenInOneBatch()
    {
        // 64 callers wait on one signal (a shared read, or a batch whose commit released them), then each submits: the
        // drain must not take its first batch before the callers already queued on the thread pool have had their turn.
        // A caller still running on another thread when the batch is taken may miss it, hence the margin, and rounds:
        // before, the first batch held one item in about half of them.
        const int Callers = 64;
        const int Rounds = 20;
        var wholeRounds = 0;
        var firstBatches = new List<int>();
        for (var round = 0; round < Rounds; round++)
        {
            var batches = await ReleaseTogetherAsync(Callers);
            Assert.Equal(Callers, batches.Sum());
            firstBatches.Add(batches[0]);
            wholeRounds += batches[0] >= Callers - 4 ? 1 : 0;
        }

        Assert.True(wholeRounds >= Rounds * 4 / 5, $"first batches: {string.Join(", ", firstBatches)}");
    }

    private static async Task<List<int>> ReleaseTogetherAsync(int callers)
    {
        var batches = new List<int>();
        var commit = new GroupCommit<int, int>(
            "test",
            items =>
            {
                lock (batches)
                {
                    batches.Add(items.Count);
                }

                return Task.FromResult<IReadOnlyList<int>>([.. items]);
            },
            i =>
            {
                lock (batches)
                {
                    batches.Add(1);
                }

                return Task.FromResult(i);
            },
            maxBatch: 256);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = 0;
        var submitted = Enumerable.Range(0, callers)
            .Select(i => Task.Run(async () =>
            {
                Interlocked.Increment(ref waiting);
                await release.Task;
                return await commit.SubmitAsync(i, default);
            }))
            .ToList();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref waiting) == callers, TimeSpan.FromSeconds(30)));

        // Released from a thread outside the pool (as the socket engine's or a timer's), so the callers' continuations
        // are queued in the pool's global queue, in order.
        var releaser = new Thread(release.SetResult);
        releaser.Start();
        releaser.Join();

        Assert.Equal(Enumerable.Range(0, callers), await Task.WhenAll(submitted));
        lock (batches)
        {
            return [.. batches];
        }
    }

    [Fact]
    public async Task SubmitAsync_BatchFails_ItemsRetriedAloneAndOnlyTheBadOneFails()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstFlushStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batches = new List<int[]>();
        var failures = new List<(int Count, string Error)>();
        var commit = new GroupCommit<int, int>(
            "test",
            items =>
            {
                batches.Add([.. items]);
                return items.Contains(13) ? throw new InvalidOperationException("batch") : Task.FromResult<IReadOnlyList<int>>([.. items.Select(i => i * 10)]);
            },
            async i =>
            {
                firstFlushStarted.TrySetResult();
                await gate.Task;
                return i == 13 ? throw new ArgumentException("thirteen") : i * 100;
            },
            maxBatch: 100,
            batchFailed: (count, ex) => failures.Add((count, ex.Message)));

        // The first item is flushed alone and held there, so the next six queue up and make one batch.
        var first = commit.SubmitAsync(1, default);
        await firstFlushStarted.Task;
        var rest = Enumerable.Range(10, 6).Select(i => commit.SubmitAsync(i, default)).ToList();
        gate.SetResult();

        Assert.Equal(100, await first);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => rest[3]);
        Assert.Equal("thirteen", error.Message);
        var others = await Task.WhenAll(rest.Where((_, i) => i != 3));
        Assert.Equal([1000, 1100, 1200, 1400, 1500], others);
        Assert.Equal([10, 11, 12, 13, 14, 15], Assert.Single(batches));
        Assert.Equal((6, "batch"), Assert.Single(failures));
    }

    [Fact]
    public async Task SubmitAsync_BatchFlushed_CountedByCommitAndSize()
    {
        var name = $"test-{Guid.NewGuid():N}";
        var counted = new List<(string Instrument, long Value, string? Size)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ActionflowMetrics.MeterName && instrument.Name.StartsWith("actionflow.group_commit.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var commit = tags.ToArray().FirstOrDefault(t => t.Key == "commit").Value as string;
            if (commit == name)
            {
                lock (counted)
                {
                    counted.Add((instrument.Name, value, tags.ToArray().FirstOrDefault(t => t.Key == "size").Value as string));
                }
            }
        });
        listener.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstFlushStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<int, int>(
            name,
            items => Task.FromResult<IReadOnlyList<int>>([.. items]),
            async i =>
            {
                firstFlushStarted.TrySetResult();
                await gate.Task;
                return i;
            },
            maxBatch: 100);

        // The first item is flushed alone and held there, so the next five queue up and make one batch.
        var first = commit.SubmitAsync(1, default);
        await firstFlushStarted.Task;
        var rest = Enumerable.Range(10, 5).Select(i => commit.SubmitAsync(i, default)).ToList();
        gate.SetResult();
        await Task.WhenAll(rest.Append(first));

        Assert.Equal(
            [("actionflow.group_commit.batches", 1L, "1"), ("actionflow.group_commit.items", 1L, "1"),
             ("actionflow.group_commit.batches", 1L, "5-8"), ("actionflow.group_commit.items", 5L, "5-8")],
            counted.Select(c => (c.Instrument, c.Value, c.Size)));
    }

    [Fact]
    public async Task SubmitAsync_CallerCancels_ItsTaskEndsButOthersComplete()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<int, int>("test", async items => { await gate.Task; return [.. items]; }, async i => { await gate.Task; return i; }, 10);
        using var cancel = new CancellationTokenSource();

        var kept = commit.SubmitAsync(1, default);
        var abandoned = commit.SubmitAsync(2, cancel.Token);
        await cancel.CancelAsync();
        gate.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(1, await kept);
    }

    [Fact]
    public async Task SubmitAsync_WrittenWithALongLivedToken_NothingOfTheItemStaysRegisteredOnTheToken()
    {
        // The worker's handler token lives as long as the process: an item written must not stay reachable from it
        // (a cancellation registration left behind would keep every entry, and its item, alive).
        var commit = new GroupCommit<object, int>("test", items => Task.FromResult<IReadOnlyList<int>>([.. items.Select(_ => 1)]), _ => Task.FromResult(1), 10);
        using var lifetime = new CancellationTokenSource();

        var written = await SubmitAndForgetAsync(commit, lifetime.Token);
        // One more item, so that the drain no longer holds the batch of the others.
        Assert.Equal(1, await commit.SubmitAsync(new object(), default));

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(written, w => Assert.False(w.IsAlive, "an item written is still reachable from the token"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> SubmitAndForgetAsync(GroupCommit<object, int> commit, CancellationToken token)
    {
        var items = Enumerable.Range(0, 20).Select(_ => new object()).ToArray();
        await Task.WhenAll(items.Select(i => commit.SubmitAsync(i, token)));
        return [.. items.Select(i => new WeakReference(i))];
    }
}
