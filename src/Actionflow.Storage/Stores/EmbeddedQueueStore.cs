using System.Globalization;
using System.Text;
using Actionflow.Core.Engine;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Actionflow.Storage.Stores;

public sealed class EmbeddedQueueStore : IEmbeddedQueueStore
{
    /// <summary>Acks deleted per statement at most.</summary>
    public const int MaxAckBatch = 256;

    // One statement leases a batch: the rows it picks are hidden and counted, and handed back, in one write.
    private const string LeaseSqlite = """
        UPDATE outbox_messages SET available_at = $p0, deliveries = deliveries + 1
        WHERE id IN (SELECT id FROM outbox_messages WHERE queue = $p1 AND (available_at IS NULL OR available_at <= $p2) ORDER BY id LIMIT $p3)
        RETURNING id, queue, body, headers, time_created, deliveries
        """;

    // The rows a transaction consumed, in one statement whatever their number (ids as a JSON array).
    private const string DeleteConsumedSqlite = "DELETE FROM outbox_messages WHERE id IN (SELECT value FROM json_each($p0))";

    private readonly IDbContextFactory<ActionflowDbContext> _contextFactory;
    // Acks of concurrent handlers share a commit; each ack returns once its own row's delete is committed.
    private readonly GroupCommit<long, bool> _acks;
    // The provider's way to lease, chosen once here.
    private readonly Func<ActionflowDbContext, string, int, DateTime, DateTime, CancellationToken, Task<IReadOnlyList<OutboxMessage>>> _lease;

    // SQLite: this process's hot writes take turns (null on PostgreSQL, whose writers do not exclude each other).
    private readonly SqliteWriteGate? _gate;

    public EmbeddedQueueStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider, SqliteWriteGate gate)
    {
        _contextFactory = contextFactory;
        _gate = provider == StorageProvider.Sqlite ? gate : null;
        _lease = provider == StorageProvider.Postgres ? LeasePostgresAsync : LeaseSqliteAsync;
        _acks = new GroupCommit<long, bool>("queue_acks", DeleteBatchAsync, id => DeleteOneAsync(id), MaxAckBatch);
    }

    public async Task EnqueueAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        db.OutboxMessages.Add(message);
        using var turn = await EnterAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<OutboxMessage>> LeaseAsync(string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        using var turn = await EnterAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var leased = await _lease(db, queue, max, now, hiddenUntil, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return leased;
    }

    public Task DeleteAsync(long id, CancellationToken cancellationToken) => _acks.SubmitAsync(id, cancellationToken);

    private async Task<IReadOnlyList<bool>> DeleteBatchAsync(IReadOnlyList<long> ids)
    {
        await using var db = await _contextFactory.CreateDbContextAsync();
        using var turn = await EnterAsync(CancellationToken.None);
        await db.OutboxMessages.Where(m => ids.Contains(m.Id)).ExecuteDeleteAsync();
        var done = new bool[ids.Count];
        Array.Fill(done, true);
        return done;
    }

    private async Task<bool> DeleteOneAsync(long id)
    {
        await using var db = await _contextFactory.CreateDbContextAsync();
        using var turn = await EnterAsync(CancellationToken.None);
        await db.OutboxMessages.Where(m => m.Id == id).ExecuteDeleteAsync();
        return true;
    }

    private ValueTask<SqliteWriteGate.Turn> EnterAsync(CancellationToken cancellationToken) =>
        _gate is null ? ValueTask.FromResult(default(SqliteWriteGate.Turn)) : _gate.EnterAsync(cancellationToken);

    /// <summary>
    /// Deletes the rows of <paramref name="receipts"/> in the SQLite transaction open on <paramref name="db"/>: the ack of
    /// messages whose work that transaction records. The caller marks them consumed once it committed.
    /// </summary>
    internal static void DeleteInTransaction(ActionflowDbContext db, IReadOnlyList<QueueReceipt> receipts)
    {
        var ids = new StringBuilder("[", receipts.Count * 8);
        for (var i = 0; i < receipts.Count; i++)
        {
            ids.Append(i == 0 ? "" : ",").Append(receipts[i].RowId.ToString(CultureInfo.InvariantCulture));
        }

        using var statement = new SqlitePipelineWrites.Statement(
            (SqliteConnection)db.Database.GetDbConnection(), (SqliteTransaction)db.Database.CurrentTransaction!.GetDbTransaction(), DeleteConsumedSqlite, 1);
        statement.Execute(ids.Append(']').ToString());
    }

    public async Task RescheduleAsync(long id, DateTime availableAt, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await db.OutboxMessages.Where(m => m.Id == id).ExecuteUpdateAsync(s => s.SetProperty(m => m.AvailableAt, availableAt), cancellationToken);
    }

    public async Task DeadLetterAsync(OutboxMessage message, string reason, string? exceptionType, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.DeadLetters.Add(new DeadLetter
        {
            ProjectId = MessageProject.TryRead(message.Body),
            Queue = message.Queue,
            Body = message.Body,
            Headers = message.Headers,
            Reason = reason,
            ExceptionType = exceptionType,
            Deliveries = message.Deliveries,
            TimeCreated = now,
        });
        await db.SaveChangesAsync(cancellationToken);
        await db.OutboxMessages.Where(m => m.Id == message.Id).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<DateTime?> NextDueAsync(string queue, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.OutboxMessages.Where(m => m.Queue == queue && m.AvailableAt > now).MinAsync(m => m.AvailableAt, cancellationToken);
    }

    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await db.OutboxMessages
            // Leased rows only (delivered at least once): a row never delivered with a future time is a delayed retry.
            .Where(m => m.AvailableAt != null && m.Deliveries > 0)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.AvailableAt, (DateTime?)null), cancellationToken);
    }

    private static async Task<IReadOnlyList<OutboxMessage>> LeasePostgresAsync(
        ActionflowDbContext db, string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        var at = UtcTime.Normalize(now);
        var rows = await db.OutboxMessages
            .FromSql($"SELECT * FROM outbox_messages WHERE queue = {queue} AND (available_at IS NULL OR available_at <= {at}) ORDER BY id LIMIT {max} FOR UPDATE SKIP LOCKED")
            .AsNoTracking()
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return rows;
        }

        var ids = rows.Select(r => r.Id).ToArray();
        await db.OutboxMessages
            .Where(m => ids.Contains(m.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.AvailableAt, hiddenUntil).SetProperty(m => m.Deliveries, m => m.Deliveries + 1), cancellationToken);
        return Leased(rows, hiddenUntil);
    }

    /// <summary>
    /// One statement picks the oldest visible rows of the queue, hides and counts them, and returns them (SQLite runs a
    /// statement alone: no other lease can take the same row). The rows come back with their new delivery count.
    /// </summary>
    private static async Task<IReadOnlyList<OutboxMessage>> LeaseSqliteAsync(
        ActionflowDbContext db, string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        using var statement = new SqlitePipelineWrites.Statement(
            (SqliteConnection)db.Database.GetDbConnection(), (SqliteTransaction?)db.Database.CurrentTransaction?.GetDbTransaction(), LeaseSqlite, 4);
        statement.Bind([SqlitePipelineWrites.Utc(hiddenUntil), queue, SqlitePipelineWrites.Utc(now), max]);
        var rows = new List<OutboxMessage>(max);
        await using (var reader = await statement.Command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new OutboxMessage
                {
                    Id = reader.GetInt64(0),
                    Queue = reader.GetString(1),
                    Body = reader.GetFieldValue<byte[]>(2),
                    Headers = reader.IsDBNull(3) ? null : reader.GetString(3),
                    TimeCreated = DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc),
                    AvailableAt = hiddenUntil,
                    Deliveries = reader.GetInt32(5),
                });
            }
        }

        // RETURNING gives no order: deliver oldest first, as the queue is read.
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    private static List<OutboxMessage> Leased(List<OutboxMessage> rows, DateTime hiddenUntil)
    {
        foreach (var row in rows)
        {
            row.AvailableAt = hiddenUntil;
            row.Deliveries++;
        }

        return rows;
    }
}
