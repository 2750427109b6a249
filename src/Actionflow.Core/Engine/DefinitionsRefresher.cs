using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>Keeps the <see cref="TriggerIndex"/> in step with the database: polls the definitions version, reloads on change.</summary>
public sealed class DefinitionsRefresher(
    TriggerIndex index,
    IDefinitionSource source,
    IOptions<EngineOptions> options,
    TimeProvider time,
    ILogger<DefinitionsRefresher> logger) : BackgroundService
{
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
        index.Load(stamp.Version, triggers);
        Log.DefinitionsLoaded(logger, stamp.Version, triggers.Count);
        if (triggers.Count >= LargeSnapshot)
        {
            // The snapshot just replaced is garbage in the oldest generation, which an idle worker may not collect for a
            // long time: each reload would then add another 100 MB or so (100,000 workflows) to the process. A
            // background collection, concurrent with the consumers, frees it for the next reload to reuse.
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
        }

        return true;
    }

    /// <summary>Changed workflows beyond which one full load is cheaper than replacing them one by one.</summary>
    internal const int MaxIncrementalWorkflows = 2_000;

    /// <summary>Triggers from which a replaced snapshot is worth a collection of its own (tens of MB).</summary>
    internal const int LargeSnapshot = 20_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DefinitionsPollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
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
