using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The pipeline on PostgreSQL: accepted events and ended runs are written as set-based SQL in two round trips per batch
/// (<see cref="PostgresPipelineWrites"/>), known events skipped by the insert itself (<c>ON CONFLICT DO NOTHING</c>).
/// </summary>
public sealed class PostgresPipelineStore(IDbContextFactory<ActionflowDbContext> contextFactory, ILogger<PostgresPipelineStore> logger)
    : PipelineStore(contextFactory, logger)
{
    private protected override Task<Dictionary<(long ProjectId, string DedupKey), Event>> KnownDuplicatesAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, CancellationToken cancellationToken) =>
        Task.FromResult(new Dictionary<(long ProjectId, string DedupKey), Event>());

    private protected override async Task InsertAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, List<int> inserts, AcceptedEvent[] results, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        var (inserted, held) = await PostgresPipelineWrites.AcceptAsync(
            (NpgsqlConnection)db.Database.GetDbConnection(), [.. inserts.Select(i => (batch[i].Event, batch[i].Steps))], cancellationToken);
        var skipped = inserts.Where(i => !inserted.Contains(batch[i].Event.Id)).ToList();
        foreach (var i in skipped)
        {
            batch[i].Event.Id = 0;
        }

        // Known already (or committed meanwhile by another worker): the recorded event answers.
        var existing = skipped.Count > 0 ? await FindDuplicatesAsync(db, [.. skipped.Select(i => batch[i])], cancellationToken) : [];
        foreach (var i in inserts)
        {
            var ev = batch[i].Event;
            results[i] = ev.Id != 0 ? new AcceptedEvent(ev, true, [.. held[ev.Id]])
                : existing.TryGetValue((ev.ProjectId, ev.DedupKey!), out var found) ? new AcceptedEvent(found, false, [])
                : throw new InvalidOperationException($"event ({ev.ProjectId}, {ev.DedupKey}) was skipped as a duplicate but cannot be found");
        }
    }

    /// <summary>See <see cref="PostgresPipelineWrites.CompleteAsync"/>.</summary>
    private protected override async Task<IReadOnlyList<CompletionRecorded>> CompleteBatchAsync(IReadOnlyList<CompletionRequest> batch)
    {
        var cancellationToken = CancellationToken.None;
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        return await PostgresPipelineWrites.CompleteAsync(
            (NpgsqlConnection)db.Database.GetDbConnection(), [.. batch.Select(r => (r.Completion, r.Emitted, r.EmittedMatches))], cancellationToken);
    }

    public override async Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        if (runIds.Count == 0)
        {
            return;
        }

        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        await PostgresPipelineWrites.RenewLeasesAsync((NpgsqlConnection)db.Database.GetDbConnection(), [.. runIds], workerId, leaseUntil, cancellationToken);
    }
}
