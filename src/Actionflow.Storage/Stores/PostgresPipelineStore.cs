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
        var items = new (Event Event, IReadOnlyList<MatchedStep> Steps)[inserts.Count];
        for (var k = 0; k < items.Length; k++)
        {
            items[k] = (batch[inserts[k]].Event, batch[inserts[k]].Steps);
        }

        // Per item: its event's held runs, or null when the event was skipped as a duplicate.
        var held = await PostgresPipelineWrites.AcceptAsync((NpgsqlConnection)db.Database.GetDbConnection(), items, cancellationToken);
        List<AcceptRequest>? skipped = null;
        for (var k = 0; k < held.Length; k++)
        {
            if (held[k] is null)
            {
                batch[inserts[k]].Event.Id = 0;
                (skipped ??= []).Add(batch[inserts[k]]);
            }
        }

        // Known already (or committed meanwhile by another worker): the recorded event answers.
        var existing = skipped is not null ? await FindDuplicatesAsync(db, skipped, cancellationToken) : [];
        for (var k = 0; k < held.Length; k++)
        {
            var ev = batch[inserts[k]].Event;
            results[inserts[k]] = held[k] is { } runs ? new AcceptedEvent(ev, true, runs)
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
