using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class EngineServiceCollectionExtensions
{
    /// <summary>The engine: trigger index and its refresher, runner registry and template registrar, run coordinator.</summary>
    public static IServiceCollection AddActionflowEngine(this IServiceCollection services, System.Action<EngineOptions>? configure = null)
    {
        var options = services.AddOptions<EngineOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOutboxSignal, OutboxSignal>();
        services.TryAddSingleton<TriggerIndex>();
        services.TryAddSingleton<RunnerRegistry>();
        services.TryAddSingleton<EventIngestor>();
        services.TryAddSingleton<ActionSnapshotCache>();
        services.TryAddSingleton<RunCoordinator>();
        services.TryAddSingleton<RetryWakeups>();
        services.TryAddSingleton<LeaseKeeper>();
        services.TryAddSingleton<DefinitionsRefresher>();
        // Order matters: templates and the first definitions load before any consumer starts.
        services.TryAddSingleton<TemplateRegistrar>();
        services.AddHostedService(sp => sp.GetRequiredService<TemplateRegistrar>());
        services.AddHostedService(sp => sp.GetRequiredService<DefinitionsRefresher>());
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.AddHostedService<AbandonedRunSweeper>();
        return services;
    }

    /// <summary>
    /// Makes a runner available to the engine: resolved for each run (transient), its template registered at start.
    /// Registering the same runner twice is a no-op.
    /// </summary>
    public static IServiceCollection AddActionRunner<TRunner>(this IServiceCollection services) where TRunner : Actionflow.Sdk.ActionRunner =>
        services.AddActionRunner(typeof(TRunner));

    /// <inheritdoc cref="AddActionRunner{TRunner}(IServiceCollection)"/>
    public static IServiceCollection AddActionRunner(this IServiceCollection services, Type runnerType)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(runnerType);
        if (!typeof(Actionflow.Sdk.ActionRunner).IsAssignableFrom(runnerType) || runnerType.IsAbstract)
        {
            throw new ArgumentException($"{runnerType.FullName} is not a concrete ActionRunner.", nameof(runnerType));
        }

        if (services.Any(d => d.ImplementationInstance is ActionRunnerRegistration r && r.RunnerType == runnerType))
        {
            return services;
        }

        services.AddTransient(runnerType);
        services.AddSingleton(new ActionRunnerRegistration(runnerType));
        return services;
    }
}
