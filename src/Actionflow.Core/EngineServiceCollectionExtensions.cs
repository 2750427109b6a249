using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The engine: trigger index and its refresher, runner registry and template registrar, the step pipeline (gate,
    /// invoker, planner, recorder, chain), and the time services (the cron scheduler and the window processor).
    /// </summary>
    public static IServiceCollection AddActionflowEngine(this IServiceCollection services, System.Action<EngineOptions>? configure = null)
    {
        var options = services.AddOptions<EngineOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        AddEngineServices(services);
        return services;
    }

    /// <summary>The engine with its options bound from <c>Actionflow:Engine</c> (<c>Actionflow__Engine__LeaseDuration</c>, ...).</summary>
    public static IServiceCollection AddActionflowEngine(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration engineSection)
    {
        services.AddOptions<EngineOptions>().Bind(engineSection).ValidateDataAnnotations().ValidateOnStart();
        AddEngineServices(services);
        return services;
    }

    private static void AddEngineServices(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOutboxSignal, OutboxSignal>();
        services.TryAddSingleton<TriggerIndex>();
        services.TryAddSingleton(sp => new RunnerRegistry(sp.GetServices<ActionRunnerRegistration>().Select(r => r.RunnerType)));
        services.TryAddSingleton<HeldSteps>();
        services.TryAddSingleton<EventIngestor>();
        services.TryAddSingleton<ActionSnapshotCache>();
        services.TryAddSingleton<StepGate>();
        services.TryAddSingleton<StepInvoker>();
        services.TryAddSingleton<RunRecorder>();
        services.TryAddSingleton<StepExecutor>();
        services.TryAddSingleton<ChainRunner>();
        services.TryAddSingleton<TriggerRunner>();
        services.TryAddSingleton<DetachedChains>();
        services.TryAddSingleton<DueWakeups>();
        services.TryAddSingleton<LeaseKeeper>();
        services.TryAddSingleton<DefinitionsWatch>();
        services.TryAddSingleton<DefinitionsRefresher>();
        // Order matters: templates and the first definitions load before any consumer starts.
        services.TryAddSingleton<TemplateRegistrar>();
        services.AddHostedService(sp => sp.GetRequiredService<TemplateRegistrar>());
        services.AddHostedService(sp => sp.GetRequiredService<DefinitionsRefresher>());
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.AddHostedService<AbandonedRunSweeper>();
        // Stops after the web server (registered later), so no request starts a chain once it drains.
        services.AddHostedService(sp => sp.GetRequiredService<DetachedChains>());
        services.AddHostedService<Actionflow.Core.Scheduling.CronScheduler>();
        services.AddHostedService<Actionflow.Core.Scheduling.WindowProcessor>();
    }
}
