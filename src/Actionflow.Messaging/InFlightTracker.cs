namespace Actionflow.Messaging;

/// <summary>Counts running handlers so a stopping consumer can wait until none is left.</summary>
internal sealed class InFlightTracker
{
    private readonly Lock _gate = new();
    private int _count;
    private TaskCompletionSource _idle = CompletedSource();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public void Enter()
    {
        lock (_gate)
        {
            if (_count++ == 0)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Exit()
    {
        lock (_gate)
        {
            if (--_count == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    /// <summary>True when no handler runs any more, false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task idle;
        lock (_gate)
        {
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }
}
