namespace Actionflow.Core.Engine;

/// <summary>
/// Group commit: concurrent callers queue their items, and one flush at a time writes everything queued (up to
/// <c>maxBatch</c>) in one transaction, so N deliveries cost one commit instead of N. Each caller's task completes
/// only once its own item is durable (or fails), so acking after it keeps at-least-once delivery. The queue holds at
/// most what the consumers have in flight (their prefetch), so it is bounded by them.
/// </summary>
/// <remarks>
/// Callers usually arrive together: a shared read or a flush completes, and its waiters' continuations are queued on
/// the thread pool at once, each about to submit. So the drain takes a batch only after the work already queued on
/// the pool has had its turn: it is started from the global queue (not the submitting thread's local one, which that
/// thread would run next, before the callers queued beside it), and before each batch, if the pool has work waiting,
/// it yields once to the end of the global queue. With nothing waiting (a lone event at a low rate) it takes the batch
/// at once: no timer, no fixed delay, and at most one yield per batch, so the drain never spins. After a flush the
/// same holds: what waits on the pool then is mostly the continuations of the callers it just completed, whose next
/// items (a 202 answered, a chain's completion) are the next batch.
/// <para>
/// When a batch fails as a whole (a unique-key race with another worker, a deadlock, a dropped connection), every
/// item of it is retried alone through <c>flushOne</c>, so one bad item fails only its own caller. <c>batchFailed</c>
/// hears of each such batch (its size and the error): the retry hides it from the callers, not from the operator.
/// Each flush is counted by its size under <c>name</c> (<see cref="ActionflowMetrics.GroupCommitFlushed"/>).
/// </para>
/// </remarks>
public sealed class GroupCommit<TItem, TResult>(
    string name,
    Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> flushBatch,
    Func<TItem, Task<TResult>> flushOne,
    int maxBatch,
    Action<int, Exception>? batchFailed = null)
{
    private readonly Lock _lock = new();
    private readonly Queue<Entry> _queue = new();
    private bool _flushing;

    /// <summary>Queues <paramref name="item"/>; completes with its result once the batch holding it is written.</summary>
    public Task<TResult> SubmitAsync(TItem item, CancellationToken cancellationToken)
    {
        var entry = new Entry(item);
        // A caller that gives up (shutdown) does not take its item back: it may still be written, which is harmless
        // because the message is then redelivered and recognised as a duplicate. Registered before the entry is
        // queued, so the flush that completes it always finds the registration to undo (the token source's
        // registrations reuse their nodes: no task per caller, as WaitAsync with a cancellable token would allocate).
        if (cancellationToken.CanBeCanceled)
        {
            entry.Cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((Entry)state!).TrySetCanceled(token), entry);
        }

        bool start;
        lock (_lock)
        {
            _queue.Enqueue(entry);
            start = !_flushing;
            _flushing = true;
        }

        if (start)
        {
            // No ExecutionContext: the batch belongs to no one caller (its trace or its cancellation).
            ThreadPool.UnsafeQueueUserWorkItem(static self => _ = self.DrainAsync(), this, preferLocal: false);
        }

        return entry.Task;
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

            await FlushAsync(batch);
        }
    }

    private bool Full()
    {
        lock (_lock)
        {
            return _queue.Count >= maxBatch;
        }
    }

    private async Task FlushAsync(List<Entry> batch)
    {
        ActionflowMetrics.GroupCommitFlushed(name, batch.Count);
        if (batch.Count > 1)
        {
            try
            {
                var items = new TItem[batch.Count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = batch[i].Item;
                }

                var results = await flushBatch(items);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Complete(results[i]);
                }

                return;
            }
            catch (Exception ex)
            {
                // Fall through: each item alone, so the failure lands on the item that causes it.
                batchFailed?.Invoke(batch.Count, ex);
            }
        }

        foreach (var entry in batch)
        {
            try
            {
                entry.Complete(await flushOne(entry.Item));
            }
            catch (Exception ex)
            {
                entry.Fail(ex);
            }
        }
    }

    /// <summary>A caller's item and the task it awaits (one object: the entry is its own completion source).</summary>
    private sealed class Entry(TItem item) : TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public TItem Item { get; } = item;

        public CancellationTokenRegistration Cancellation { get; set; }

        public void Complete(TResult result)
        {
            Cancellation.Unregister();
            TrySetResult(result);
        }

        public void Fail(Exception error)
        {
            Cancellation.Unregister();
            TrySetException(error);
        }
    }
}
