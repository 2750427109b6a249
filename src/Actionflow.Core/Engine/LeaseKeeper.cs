using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>Renews the leases of the runs this worker is executing, so only a dead worker's runs get taken over.</summary>
public sealed class LeaseKeeper(IPipelineStore store, IOptions<EngineOptions> options, TimeProvider time, ILogger<LeaseKeeper> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<long, byte> _held = new();

    public void Hold(long runId) => _held.TryAdd(runId, 0);

    public void Release(long runId) => _held.TryRemove(runId, out _);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = options.Value.LeaseDuration;
        using var timer = new PeriodicTimer(lease / 3, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var ids = _held.Keys.ToArray();
            if (ids.Length == 0)
            {
                continue;
            }

            try
            {
                await store.RenewLeasesAsync(ids, options.Value.WorkerId, time.GetUtcNow().UtcDateTime + lease, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.LeaseRenewalFailed(logger, ids.Length, ex);
            }
        }
    }
}
