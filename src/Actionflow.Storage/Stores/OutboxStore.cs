using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class OutboxStore : IOutboxStore, IDisposable
{
    private readonly IDbContextFactory<ActionflowDbContext> _contextFactory;
    private readonly TimeProvider _time;
    // The provider's way, chosen once here.
    private readonly Func<int, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task>, CancellationToken, Task<int>> _relay;

    // SQLite has one process: relays of this process take turns instead of holding the database write lock while publishing.
    private readonly SemaphoreSlim _sqliteRelay = new(1, 1);

    public OutboxStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider, TimeProvider time)
    {
        _contextFactory = contextFactory;
        _time = time;
        _relay = provider == StorageProvider.Postgres ? RelayPostgresAsync : RelaySqliteAsync;
    }

    public Task<int> RelayAsync(int max, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        ArgumentNullException.ThrowIfNull(publish);
        return _relay(max, publish, cancellationToken);
    }

    public async Task<DateTime?> NextDueAsync(DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.OutboxMessages.Where(m => m.AvailableAt > now).MinAsync(m => m.AvailableAt, cancellationToken);
    }

    public void Dispose() => _sqliteRelay.Dispose();

    private async Task<int> RelayPostgresAsync(int max, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = _time.GetUtcNow().UtcDateTime;
        // Row locks held until commit: a concurrent relay skips this batch instead of publishing it twice.
        // Rows with available_at in the future are delayed retries: not published before they are due.
        var rows = await db.OutboxMessages
            .FromSql($"SELECT * FROM outbox_messages WHERE available_at IS NULL OR available_at <= {now} ORDER BY id LIMIT {max} FOR UPDATE SKIP LOCKED")
            .AsNoTracking()
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return 0;
        }

        await publish(rows, cancellationToken);
        var ids = rows.Select(r => r.Id).ToArray();
        await db.OutboxMessages.Where(m => ids.Contains(m.Id)).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows.Count;
    }

    private async Task<int> RelaySqliteAsync(int max, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        await _sqliteRelay.WaitAsync(cancellationToken);
        try
        {
            await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
            var now = _time.GetUtcNow().UtcDateTime;
            var rows = await db.OutboxMessages.AsNoTracking()
                .Where(m => m.AvailableAt == null || m.AvailableAt <= now)
                .OrderBy(m => m.Id).Take(max).ToListAsync(cancellationToken);
            if (rows.Count == 0)
            {
                return 0;
            }

            await publish(rows, cancellationToken);
            var ids = rows.Select(r => r.Id).ToArray();
            await db.OutboxMessages.Where(m => ids.Contains(m.Id)).ExecuteDeleteAsync(cancellationToken);
            return rows.Count;
        }
        finally
        {
            _sqliteRelay.Release();
        }
    }
}
