namespace Actionflow.Api;

/// <summary>
/// A read that many concurrent requests need the same answer to (the API key of a secret, a project by its string id, the
/// definitions version). A request waits for a read of its key that starts after it arrived, never for one already
/// under way, so it sees everything committed before it came; the requests that arrive while a read of their key is
/// under way share the next one. At most one read per key runs at a time, and the next starts as soon as the previous
/// returns: one round trip per key per flight instead of one per request, and no added wait when requests are few.
/// </summary>
/// <remarks>
/// The read runs without the request's cancellation token (it answers several requests); a request that gives up stops
/// waiting for it. A failed read fails every request that waited for it, each with the same exception.
/// </remarks>
internal sealed class CoalescedRead<TKey, TValue>(Func<TKey, Task<TValue>> read, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Slot> _slots = new(comparer);

    public Task<TValue> ReadAsync(TKey key, CancellationToken cancellationToken)
    {
        Task<TValue> answer;
        Slot? start = null;
        lock (_lock)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                _slots[key] = slot = new Slot();
            }

            slot.Next ??= new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
            answer = slot.Next.Task;
            if (!slot.Reading)
            {
                slot.Reading = true;
                start = slot;
            }
        }

        if (start is not null)
        {
            _ = Task.Run(() => DrainAsync(key, start), CancellationToken.None);
        }

        return answer.WaitAsync(cancellationToken);
    }

    private async Task DrainAsync(TKey key, Slot slot)
    {
        while (true)
        {
            TaskCompletionSource<TValue> waiting;
            lock (_lock)
            {
                if (slot.Next is null)
                {
                    slot.Reading = false;
                    _slots.Remove(key);
                    return;
                }

                waiting = slot.Next;
                slot.Next = null;
            }

            try
            {
                waiting.TrySetResult(await read(key));
            }
            catch (Exception ex)
            {
                waiting.TrySetException(ex);
            }
        }
    }

    private sealed class Slot
    {
        public TaskCompletionSource<TValue>? Next { get; set; }

        public bool Reading { get; set; }
    }
}
