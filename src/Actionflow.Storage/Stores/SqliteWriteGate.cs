namespace Actionflow.Storage.Stores;

/// <summary>
/// The hot SQLite write transactions of this process (the accepts' and completions' group commits, the embedded
/// queue's lease) take turns here before they begin. SQLite has one writer per database anyway; without this, a
/// writer that finds the lock taken waits in SQLite's busy handler, which blocks its thread and sleeps 1, 2, 5, 10 ms
/// and more between tries, so the lock is often free while the next writer still sleeps. Waiting here instead costs
/// no thread and resumes the next writer as soon as the previous one commits. Writers of other processes (and this
/// process's rarer writes) still meet at SQLite's lock, with the busy timeout as before; the gate changes no
/// transaction's content or order of statements, only when it begins.
/// </summary>
public sealed class SqliteWriteGate : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _waiting;

    /// <summary>Writers waiting for their turn right now (the tests observe it).</summary>
    internal int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Waits for this process's turn to write; dispose the result once the transaction has ended (committed or rolled back).</summary>
    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        if (_turn.Wait(0, CancellationToken.None))
        {
            return new Turn(_turn);
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            await _turn.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return new Turn(_turn);
    }

    public void Dispose() => _turn.Dispose();

    /// <summary>One writer's turn; disposing it lets the next writer begin.</summary>
    public readonly struct Turn(SemaphoreSlim turn) : IDisposable
    {
        public void Dispose() => turn?.Release();
    }
}
