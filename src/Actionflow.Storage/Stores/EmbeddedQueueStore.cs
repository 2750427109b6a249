using Actionflow.Core.Engine;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class EmbeddedQueueStore : IEmbeddedQueueStore
{
    private readonly IDbContextFactory<ActionflowDbContext> _contextFactory;
    // The provider's way to lease, chosen once here.
    private readonly Func<ActionflowDbContext, string, int, DateTime, DateTime, CancellationToken, Task<IReadOnlyList<OutboxMessage>>> _lease;

    public EmbeddedQueueStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider)
    {
        _contextFactory = contextFactory;
        _lease = provider == StorageProvider.Postgres ? LeasePostgresAsync : LeaseEachAsync;
    }

    public async Task EnqueueAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        db.OutboxMessages.Add(message);
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<OutboxMessage>> LeaseAsync(string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var leased = await _lease(db, queue, max, now, hiddenUntil, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return leased;
    }

    public async Task DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await db.OutboxMessages.Where(m => m.Id == id).ExecuteDeleteAsync(cancellationToken);
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

    /// <summary>Each row is taken by a conditional update, so a row another thread leased meanwhile is left out.</summary>
    private static async Task<IReadOnlyList<OutboxMessage>> LeaseEachAsync(
        ActionflowDbContext db, string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        var candidates = await db.OutboxMessages
            .AsNoTracking()
            .Where(m => m.Queue == queue && (m.AvailableAt == null || m.AvailableAt <= now))
            .OrderBy(m => m.Id)
            .Take(max)
            .ToListAsync(cancellationToken);
        var taken = new List<OutboxMessage>(candidates.Count);
        foreach (var row in candidates)
        {
            var id = row.Id;
            var affected = await db.OutboxMessages
                .Where(m => m.Id == id && (m.AvailableAt == null || m.AvailableAt <= now))
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.AvailableAt, hiddenUntil).SetProperty(m => m.Deliveries, m => m.Deliveries + 1), cancellationToken);
            if (affected == 1)
            {
                taken.Add(row);
            }
        }

        return Leased(taken, hiddenUntil);
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
