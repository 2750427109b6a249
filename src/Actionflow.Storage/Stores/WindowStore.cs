using System.Text.Json;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Actionflow.Storage.Stores;

/// <summary>
/// Folds window entries into windows and closes windows, per (step, key), under a lock on the key that no other worker
/// can hold at once (PostgreSQL: a transaction-scoped advisory lock taken with <c>pg_try_advisory_xact_lock</c>, so a
/// key another worker is folding is skipped, not waited for; SQLite: one process, one pass at a time), and with every
/// window row changed only from the version read (a conditional update that rolls the pass back if it finds none).
/// The entries consumed, the windows' states, the events and runs of the windows that closed and the skipped runs
/// commit together: an entry is folded once and a window closes once, whatever crashes.
/// </summary>
public sealed partial class WindowStore : IWindowStore, IDisposable
{
    /// <summary>Entries folded per pass at most (the rest wait for the next pass, in order).</summary>
    public const int MaxEntries = 2_000;

    /// <summary>How long entries and windows of a step without a window (as this worker sees it) are kept before they are dropped.</summary>
    public static readonly TimeSpan DropGrace = TimeSpan.FromMinutes(1);

    // The first key of the two-key advisory lock: keeps window keys apart from any other advisory lock user.
    private const int LockSpace = 0x41465731;

    private readonly IDbContextFactory<ActionflowDbContext> _contextFactory;
    private readonly StorageProvider _provider;
    private readonly ILogger<WindowStore> _logger;
    private readonly SemaphoreSlim _sqlite = new(1, 1);

    public WindowStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider, ILogger<WindowStore> logger)
    {
        _contextFactory = contextFactory;
        _provider = provider;
        _logger = logger;
    }

    public async Task<WindowPass> ProcessAsync(DateTime now, int maxKeys, Func<long, WindowedStep?> stepOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stepOf);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxKeys);
        if (_provider == StorageProvider.Postgres)
        {
            return await ProcessLockedAsync(UtcTime.Normalize(now), maxKeys, stepOf, cancellationToken);
        }

        await _sqlite.WaitAsync(cancellationToken);
        try
        {
            return await ProcessLockedAsync(UtcTime.Normalize(now), maxKeys, stepOf, cancellationToken);
        }
        finally
        {
            _sqlite.Release();
        }
    }

    public async Task<DateTime?> NextCloseAsync(CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.Windows.MinAsync(w => w.CloseAt, cancellationToken);
    }

    public void Dispose() => _sqlite.Dispose();

    private async Task<WindowPass> ProcessLockedAsync(DateTime now, int maxKeys, Func<long, WindowedStep?> stepOf, CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // Keys with new entries (oldest first), then keys whose window is due by now.
        var keys = (await db.WindowEntries.AsNoTracking()
                .GroupBy(e => new { e.ActionId, e.WindowKey })
                .Select(g => new { g.Key.ActionId, g.Key.WindowKey, First = g.Min(e => e.Id) })
                .OrderBy(k => k.First)
                .Take(maxKeys)
                .ToListAsync(cancellationToken))
            .Select(k => (k.ActionId, k.WindowKey))
            .ToList();
        if (keys.Count < maxKeys)
        {
            var due = await db.Windows.AsNoTracking()
                .Where(w => w.CloseAt <= now)
                .OrderBy(w => w.CloseAt)
                .Take(maxKeys)
                .Select(w => new { w.ActionId, w.WindowKey })
                .ToListAsync(cancellationToken);
            keys = [.. keys.Concat(due.Select(w => (w.ActionId, w.WindowKey))).Distinct().Take(maxKeys)];
        }

        if (keys.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return WindowPass.Empty;
        }

        if (_provider == StorageProvider.Postgres)
        {
            keys = await TryLockAsync(db, keys, cancellationToken);
            if (keys.Count == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return WindowPass.Empty;
            }
        }

        // Read after the locks: what a worker that held a key before committed is seen now.
        var wanted = keys.ToHashSet();
        var actionIds = keys.Select(k => k.ActionId).Distinct().ToArray();
        var keyValues = keys.Select(k => k.WindowKey).Distinct().ToArray();
        var rows = (await db.Windows.AsNoTracking().Where(w => actionIds.Contains(w.ActionId) && keyValues.Contains(w.WindowKey)).ToListAsync(cancellationToken))
            .Where(w => wanted.Contains((w.ActionId, w.WindowKey)))
            .ToDictionary(w => (w.ActionId, w.WindowKey));
        var entries = (await db.WindowEntries.AsNoTracking()
                .Where(e => actionIds.Contains(e.ActionId) && keyValues.Contains(e.WindowKey))
                .OrderBy(e => e.Id)
                .Take(MaxEntries)
                .ToListAsync(cancellationToken))
            .Where(e => wanted.Contains((e.ActionId, e.WindowKey)))
            .ToLookup(e => (e.ActionId, e.WindowKey));

        var folds = new List<(long ActionId, string Key, WindowedStep Step, WindowFoldResult Fold)>();
        var handled = 0;
        var consumed = new List<long>();
        var dropped = new List<StepWindow>();
        foreach (var key in keys)
        {
            var arrivals = entries[key].ToList();
            rows.TryGetValue(key, out var row);
            var step = stepOf(key.ActionId);
            if (step is null)
            {
                // The step has no window any more, or is inactive or gone: what waited in it is dropped. Not at once:
                // this worker may not have loaded a definition another worker already matched with.
                var stale = now - DropGrace;
                var old = arrivals.Where(e => e.TimeCreated < stale).Select(e => e.Id).ToList();
                consumed.AddRange(old);
                if (row is not null && row.TimeUpdated < stale)
                {
                    dropped.Add(row);
                    handled++;
                }
                else if (old.Count > 0)
                {
                    handled++;
                }

                continue;
            }

            handled++;

            var mode = ModeName(step.Config.Mode);
            var state = row is not null && row.Mode == mode ? ToState(row) : null;
            if (row is not null && state is null)
            {
                WindowLog.ModeChanged(_logger, key.ActionId, row.Mode, mode);
            }

            var fold = WindowFold.Fold(step.Config, state, key.WindowKey, [.. arrivals.Select(e => (e.EventId, Utc(e.TimeCreated)))], Utc(now));
            consumed.AddRange(arrivals.Select(e => e.Id));
            folds.Add((key.ActionId, key.WindowKey, step, fold));
            WriteState(db, row, fold.State, key, arrivals.Count > 0 ? arrivals[0].ProjectId : row?.ProjectId ?? 0, mode, now);
        }

        await DeleteWindowsAsync(db, dropped, cancellationToken);
        if (consumed.Count > 0)
        {
            var ids = consumed.ToArray();
            await db.WindowEntries.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        await RunRows.SaveAndForgetAsync(db, cancellationToken);
        var (runs, skipped) = await WriteRunsAsync(db, folds, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new WindowPass(handled, consumed.Count, runs, skipped);
    }

    /// <summary>The keys whose lock this transaction got; the others are being folded by another worker right now.</summary>
    private static async Task<List<(long ActionId, string WindowKey)>> TryLockAsync(ActionflowDbContext db, List<(long ActionId, string WindowKey)> keys, CancellationToken cancellationToken)
    {
        var actionIds = keys.Select(k => k.ActionId).ToArray();
        var keyValues = keys.Select(k => k.WindowKey).ToArray();
        var locked = await db.Database
            .SqlQuery<LockedKey>($"""
                SELECT k.action_id AS "ActionId", k.window_key AS "WindowKey"
                FROM unnest({actionIds}::bigint[], {keyValues}::text[]) AS k(action_id, window_key)
                WHERE pg_try_advisory_xact_lock({LockSpace}, hashtext(k.action_id::text || ':' || k.window_key))
                """)
            .ToListAsync(cancellationToken);
        return [.. locked.Select(k => (k.ActionId, k.WindowKey))];
    }

    private sealed class LockedKey
    {
        public long ActionId { get; set; }

        public string WindowKey { get; set; } = "";
    }

    private static void WriteState(ActionflowDbContext db, StepWindow? row, WindowState? state, (long ActionId, string WindowKey) key, long projectId, string mode, DateTime now)
    {
        if (state is null)
        {
            if (row is not null)
            {
                db.Windows.Attach(row);
                db.Windows.Remove(row);
            }

            return;
        }

        if (row is null)
        {
            db.Windows.Add(Fill(new StepWindow { ActionId = key.ActionId, ProjectId = projectId, WindowKey = key.WindowKey, Mode = mode }, state, now));
            return;
        }

        // Version is the concurrency token: the update matches only the row as it was read, or the pass rolls back.
        db.Windows.Attach(row);
        Fill(row, state, now);
        row.Mode = mode;
    }

    private static StepWindow Fill(StepWindow row, WindowState state, DateTime now)
    {
        row.OpenedAt = state.OpenedAt.UtcDateTime;
        row.LastEventAt = state.LastEventAt.UtcDateTime;
        row.EventCount = state.Count;
        row.Members = JsonSerializer.Serialize(state.Members);
        row.CloseAt = state.CloseAt == DateTimeOffset.MaxValue ? null : state.CloseAt.UtcDateTime;
        row.Version = state.Version;
        row.TimeUpdated = now;
        return row;
    }

    private static async Task DeleteWindowsAsync(ActionflowDbContext db, List<StepWindow> dropped, CancellationToken cancellationToken)
    {
        foreach (var row in dropped)
        {
            var (id, version) = (row.Id, row.Version);
            await db.Windows.Where(w => w.Id == id && w.Version == version).ExecuteDeleteAsync(cancellationToken);
        }
    }

    /// <summary>The events and runs of the windows that closed, and the skipped runs of the events left out.</summary>
    private static async Task<(int Runs, int Skipped)> WriteRunsAsync(
        ActionflowDbContext db, List<(long ActionId, string Key, WindowedStep Step, WindowFoldResult Fold)> folds, DateTime now, CancellationToken cancellationToken)
    {
        var needed = folds.SelectMany(f => f.Fold.Runs.SelectMany(r => r.Members).Concat(f.Fold.Skipped.Select(s => s.EventId))).Distinct().ToArray();
        if (needed.Length == 0)
        {
            return (0, 0);
        }

        var events = await db.Events.AsNoTracking().Where(e => needed.Contains(e.Id)).ToDictionaryAsync(e => e.Id, cancellationToken);
        var runEvents = new List<(Event Event, MatchedStep Step)>();
        var skipped = new List<(Event Event, MatchedStep Step, string Reason)>();
        foreach (var (actionId, key, step, fold) in folds)
        {
            var matched = new MatchedStep(actionId, step.WorkflowId, step.Kind);
            foreach (var run in fold.Runs)
            {
                var members = run.Members.Where(events.ContainsKey).Select(id => events[id]).ToList();
                if (members.Count > 0)
                {
                    runEvents.Add((WindowFold.RunEvent(step.Config, actionId, key, run, members, now), matched));
                }
            }

            foreach (var skip in fold.Skipped)
            {
                if (events.TryGetValue(skip.EventId, out var ev))
                {
                    skipped.Add((ev, matched, skip.Reason));
                }
            }
        }

        if (runEvents.Count > 0)
        {
            db.Events.AddRange(runEvents.Select(r => r.Event));
            await RunRows.SaveAndForgetAsync(db, cancellationToken);
            await RunRows.AddAsync(db, [.. runEvents.Select(r => (r.Event, (IReadOnlyList<MatchedStep>)[r.Step]))], cancellationToken);
        }

        await RunRows.AddSkippedAsync(db, skipped, now, cancellationToken);
        return (runEvents.Count, skipped.Count);
    }

    private static WindowState ToState(StepWindow row) => new(
        row.WindowKey,
        Utc(row.OpenedAt),
        Utc(row.LastEventAt),
        row.EventCount,
        JsonSerializer.Deserialize<List<long>>(row.Members) ?? [],
        row.CloseAt is { } close ? Utc(close) : DateTimeOffset.MaxValue,
        row.Version);

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static string ModeName(WindowMode mode) => mode.ToString().ToLowerInvariant();

    private static partial class WindowLog
    {
        [LoggerMessage(2010, LogLevel.Warning, "The window mode of step {ActionId} changed from {Old} to {New}: its open windows are dropped")]
        public static partial void ModeChanged(ILogger logger, long actionId, string old, string @new);
    }
}
