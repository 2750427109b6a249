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

    /// <summary>Reloads when the version changed (or always, when forced). Returns true when it reloaded.</summary>
    public async Task<bool> RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        var version = await source.GetVersionAsync(cancellationToken);
        if (!force && version == index.Version)
        {
            return false;
        }

        var triggers = await source.LoadTriggersAsync(cancellationToken);
        index.Load(version, triggers);
        Log.DefinitionsLoaded(logger, version, triggers.Count);
        if (triggers.Count >= LargeSnapshot)
        {
            // The snapshot just replaced is garbage in the oldest generation, which an idle worker may not collect for a
            // long time: each reload would then add another 100 MB or so (100,000 workflows) to the process. A
            // background collection, concurrent with the consumers, frees it for the next reload to reuse.
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
        }

        return true;
    }

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
