namespace Actionflow.Core.Engine;

/// <summary>
/// Whether this process's <see cref="TriggerIndex"/> may be behind the database, so that a request need not read the
/// definitions version to know it is current. Changes are counted as they become known: a change committed through this
/// process (counted after its commit), a change notification from the database (PostgreSQL's <c>LISTEN</c>), the
/// watch starting to follow. Every refresh records the count it began with; the index is current when the last recorded
/// count is the count now <b>and</b> something follows the changes of other processes (<see cref="Following"/>).
/// </summary>
/// <remarks>
/// Nothing follows by default: then every request reads the version, as before. PostgreSQL follows while its listening
/// connection is open, and stops following the moment it is lost, so a request never trusts an index nobody keeps up.
/// The embedded database never follows: another process can write its file and tell nobody.
/// </remarks>
public sealed class DefinitionsWatch
{
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _changes = 1;
    private long _applied;
    private int _following;

    /// <summary>The changes known so far (a count; only its moves matter).</summary>
    public long Changes => Volatile.Read(ref _changes);

    /// <summary>True while every change, of this process or another, is counted when it becomes known.</summary>
    public bool Following => Volatile.Read(ref _following) == 1;

    /// <summary>True when the index has been refreshed since the last change known, and changes are followed.</summary>
    public bool IsCurrent => Following && Volatile.Read(ref _applied) == Volatile.Read(ref _changes);

    /// <summary>A change became known: the next request (and the refresher, woken) reads the version again.</summary>
    public void Changed()
    {
        Interlocked.Increment(ref _changes);
        Wake();
    }

    /// <summary>
    /// Starts following (a change is counted first: whatever was committed while nobody followed is read at the next
    /// refresh) or stops (every request reads the version until following starts again).
    /// </summary>
    public void Follow(bool following)
    {
        if (following)
        {
            Changed();
            Volatile.Write(ref _following, 1);
        }
        else
        {
            Volatile.Write(ref _following, 0);
        }
    }

    /// <summary>A refresh that began when <see cref="Changes"/> was <paramref name="changes"/> has read the version and applied it.</summary>
    public void Applied(long changes)
    {
        var seen = Volatile.Read(ref _applied);
        while (changes > seen)
        {
            var previous = Interlocked.CompareExchange(ref _applied, changes, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    /// <summary>Waits for a change to be known (since the last wait returned), or <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        var wake = Volatile.Read(ref _wake);
        try
        {
            await wake.Task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Poll anyway.
        }

        // A change counted before this swap is in the count the caller's next refresh begins with; one after it wakes the next wait.
        if (wake.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
        }
    }

    private void Wake() => Volatile.Read(ref _wake).TrySetResult();
}
