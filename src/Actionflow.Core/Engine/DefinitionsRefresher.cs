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
        return true;
    }

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
