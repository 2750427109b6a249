using System.Buffers;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using BenchmarkDotNet.Attributes;

namespace Actionflow.Bench.Micro;

/// <summary>
/// Once per delivered event (issue 17, round 6): the consumer's copy of a body, the group commit's submit (twice per
/// one-step event: the accept and the completion) and the list of matched steps, before (the code as it was, kept
/// here as the baseline) and after (the engine's code, or its same steps where the type is internal).
/// </summary>
[MemoryDiagnoser]
public class DeliveryAllocations
{
    private const int BatchSize = 16;
    private readonly byte[] _body = System.Text.Encoding.UTF8.GetBytes(Samples.DiffgramEvent(123_456, "input_file_uploaded", 42).ToJsonString());
    private readonly GroupCommit<int, int> _after = new("bench", items => Task.FromResult<IReadOnlyList<int>>([.. items]), Task.FromResult, BatchSize);
    private readonly GroupCommitBefore<int, int> _before = new(items => Task.FromResult<IReadOnlyList<int>>([.. items]), Task.FromResult, BatchSize);
    private readonly Task<int>[] _tasks = new Task<int>[BatchSize];
    private readonly CancellationTokenSource _lifetime = new();
    private readonly MatchedStep _step = new(10_000, 1, "noop");

    [GlobalCleanup]
    public void Cleanup() => _lifetime.Dispose();

    [Benchmark(Baseline = true, Description = "delivery body (600 B): before (ToArray per delivery)")]
    public int BodyBefore()
    {
        var copy = _body.AsMemory().ToArray();
        return copy.Length;
    }

    [Benchmark(Description = "delivery body (600 B): after (rented, returned once settled)")]
    public int BodyAfter()
    {
        var rented = ArrayPool<byte>.Shared.Rent(_body.Length);
        _body.AsSpan().CopyTo(rented);
        var length = new ReadOnlyMemory<byte>(rented, 0, _body.Length).Length;
        ArrayPool<byte>.Shared.Return(rented);
        return length;
    }

    [Benchmark(Description = "group commit, 16 submits with the handler token: before (WaitAsync, LINQ copy)")]
    public async Task<int> SubmitBefore()
    {
        for (var i = 0; i < BatchSize; i++)
        {
            _tasks[i] = _before.SubmitAsync(i, _lifetime.Token);
        }

        var sum = 0;
        foreach (var task in _tasks)
        {
            sum += await task;
        }

        return sum;
    }

    [Benchmark(Description = "group commit, 16 submits with the handler token: after")]
    public async Task<int> SubmitAfter()
    {
        for (var i = 0; i < BatchSize; i++)
        {
            _tasks[i] = _after.SubmitAsync(i, _lifetime.Token);
        }

        var sum = 0;
        foreach (var task in _tasks)
        {
            sum += await task;
        }

        return sum;
    }

    [Benchmark(Description = "one matched step: before (a list)")]
    public IReadOnlyList<MatchedStep> MatchedBefore()
    {
        List<MatchedStep>? matched = null;
        (matched ??= []).Add(_step);
        return matched;
    }

    [Benchmark(Description = "one matched step: after (an array of one, as TriggerIndex.MatchSteps)")]
    public IReadOnlyList<MatchedStep> MatchedAfter() => [_step];

    /// <summary>GroupCommit as it was at d8b0d81 (the metric and the batch-failure path left out).</summary>
    private sealed class GroupCommitBefore<TItem, TResult>(
        Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> flushBatch, Func<TItem, Task<TResult>> flushOne, int maxBatch)
    {
        private readonly Lock _lock = new();
        private readonly Queue<Entry> _queue = new();
        private bool _flushing;

        public Task<TResult> SubmitAsync(TItem item, CancellationToken cancellationToken)
        {
            var entry = new Entry(item);
            bool start;
            lock (_lock)
            {
                _queue.Enqueue(entry);
                start = !_flushing;
                _flushing = true;
            }

            if (start)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static self => _ = self.DrainAsync(), this, preferLocal: false);
            }

            return entry.Completion.Task.WaitAsync(cancellationToken);
        }

        private async Task DrainAsync()
        {
            while (true)
            {
                if (ThreadPool.PendingWorkItemCount > 0 && !Full())
                {
                    await Task.Yield();
                }

                List<Entry> batch;
                lock (_lock)
                {
                    if (_queue.Count == 0)
                    {
                        _flushing = false;
                        return;
                    }

                    batch = new List<Entry>(Math.Min(_queue.Count, maxBatch));
                    while (batch.Count < maxBatch && _queue.TryDequeue(out var next))
                    {
                        batch.Add(next);
                    }
                }

                if (batch.Count > 1)
                {
                    var results = await flushBatch([.. batch.Select(e => e.Item)]);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        batch[i].Completion.TrySetResult(results[i]);
                    }
                }
                else
                {
                    batch[0].Completion.TrySetResult(await flushOne(batch[0].Item));
                }
            }
        }

        private bool Full()
        {
            lock (_lock)
            {
                return _queue.Count >= maxBatch;
            }
        }

        private sealed class Entry(TItem item)
        {
            public TItem Item { get; } = item;

            public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
