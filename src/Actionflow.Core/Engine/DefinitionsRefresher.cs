using System.Runtime;
using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>
/// Keeps the <see cref="TriggerIndex"/> in step with the database: reads the definitions version when a change becomes
/// known (<see cref="DefinitionsWatch"/>) and at least every poll interval, reloads on change.
/// </summary>
public sealed class DefinitionsRefresher(
    TriggerIndex index,
    IDefinitionSource source,
    IOptions<EngineOptions> options,
    TimeProvider time,
    ILogger<DefinitionsRefresher> logger,
    DefinitionsWatch? watch = null) : BackgroundService
{
    private readonly DefinitionsWatch _watch = watch ?? new DefinitionsWatch();

    /// <summary>What this refresher's index is known to be behind by.</summary>
    public DefinitionsWatch Watch => _watch;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first load happens before the consumers start, so no event is matched against an empty index.
        await RefreshAsync(force: true, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Follows the version: when it moved, reloads only the workflows changed since the index's version (their steps
    /// replace theirs in the index); in full when forced, at the first load, when the version went back (a restored
    /// database), when a change cannot be told by workflow, or when more than <see cref="MaxIncrementalWorkflows"/> changed.
    /// Returns true when the index changed.
    /// </summary>
    public async Task<bool> RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        // Taken before the read: a change counted after it may not be in what the read sees, so it stays pending.
        var changes = _watch.Changes;
        var changed = await ApplyAsync(force, cancellationToken);
        _watch.Applied(changes);
        return changed;
    }

    private async Task<bool> ApplyAsync(bool force, CancellationToken cancellationToken)
    {
        var stamp = await source.GetStampAsync(cancellationToken);
        // A concurrent reload can move the index between the read of its version and the apply: start again from where it is.
        for (var attempt = 0; !force && attempt < 3; attempt++)
        {
            var current = index.Version;
            if (stamp.Version == current)
            {
                return false;
            }

            if (!index.IsReady || current < 0 || stamp.Version < current || stamp.FullReloadVersion > current)
            {
                break;
            }

            if (await source.LoadChangesAsync(current, MaxIncrementalWorkflows, cancellationToken) is not { } changes)
            {
                break;
            }

            if (index.Apply(current, stamp.Version, changes))
            {
                Log.DefinitionsChanged(logger, current, stamp.Version, changes.WorkflowIds.Count, changes.Triggers.Count);
                return true;
            }
        }

        var triggers = await source.LoadTriggersAsync(cancellationToken);
        var first = !index.IsReady;
        index.Load(stamp.Version, triggers);
        Log.DefinitionsLoaded(logger, stamp.Version, triggers.Count);
        if (triggers.Count >= LargeSnapshot)
        {
            Collect(first, triggers.Count);
        }

        return true;
    }

    /// <summary>
    /// After a large full load: the load's temporaries (and, on a reload, the snapshot it replaced) are garbage in the
    /// oldest generation, mixed with the new snapshot, which an idle worker may not collect for a long time.
    /// </summary>
    private void Collect(bool first, int triggerCount)
    {
        if (!first)
        {
            // Matching is under way: a background collection, concurrent with the consumers, frees the garbage for the
            // next load to reuse, but leaves its holes committed (100,000 workflows: about 310 MB resident after a
            // reload). Compacting it would pause every consumer for 0.1-0.5 s per reload (bench/README.md, Round 4).
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
            return;
        }

        // The first load, before any consumer starts: nothing waits on a pause, so compact and give the emptied memory
        // back to the system at once (100,000 workflows: 229-239 MB resident at start instead of 261).
        var started = time.GetTimestamp();
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Log.DefinitionsCompacted(logger, triggerCount, time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Changed workflows beyond which one full load is cheaper than replacing them one by one.</summary>
    internal const int MaxIncrementalWorkflows = 2_000;

    /// <summary>Triggers from which a replaced snapshot is worth a collection of its own (tens of MB).</summary>
    internal const int LargeSnapshot = 20_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Woken by a change as soon as it is known (so requests rarely find one pending), else every poll interval.
            await _watch.WaitAsync(options.Value.DefinitionsPollInterval, time, stoppingToken);
            try
            {
                await RefreshAsync(force: false, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.DefinitionsRefreshFailed(logger, ex);
            }
        }
    }
}
