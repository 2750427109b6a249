using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <summary>At start, writes the templates of the registered runners (Diffgram's registrar, without its bugs).</summary>
public sealed class TemplateRegistrar(RunnerRegistry registry, ITemplateStore store, TimeProvider time, ILogger<TemplateRegistrar> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var result = await store.SyncAsync(registry.Templates, time.GetUtcNow().UtcDateTime, cancellationToken);
        Log.TemplatesSynced(logger, result.Created, result.Updated, result.MarkedUnavailable);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
