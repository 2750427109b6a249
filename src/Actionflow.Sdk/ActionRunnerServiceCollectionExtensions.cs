using System.Reflection;
using Actionflow.Sdk;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers action runners; a plugin that references only the SDK can register its own.</summary>
public static class ActionRunnerServiceCollectionExtensions
{
    /// <summary>
    /// Makes <typeparamref name="TRunner"/> available to the engine: resolved for each run (transient), its template
    /// (<see cref="ActionTemplateAttribute"/>) registered at start. Registering the same runner twice is a no-op.
    /// </summary>
    public static IServiceCollection AddActionRunner<TRunner>(this IServiceCollection services) where TRunner : ActionRunner =>
        services.AddActionRunner(typeof(TRunner));

    /// <inheritdoc cref="AddActionRunner{TRunner}(IServiceCollection)"/>
    public static IServiceCollection AddActionRunner(this IServiceCollection services, Type runnerType)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(runnerType);
        if (!typeof(ActionRunner).IsAssignableFrom(runnerType) || runnerType.IsAbstract)
        {
            throw new ArgumentException($"{runnerType.FullName} is not a concrete ActionRunner<TConfig>.", nameof(runnerType));
        }

        if (runnerType.GetCustomAttribute<ActionTemplateAttribute>() is null)
        {
            throw new ArgumentException($"{runnerType.FullName} declares no template: add [ActionTemplate(kind, name, description, Triggers = [...])].", nameof(runnerType));
        }

        foreach (var descriptor in services)
        {
            if (descriptor.ImplementationInstance is ActionRunnerRegistration registered && registered.RunnerType == runnerType)
            {
                return services;
            }
        }

        services.AddTransient(runnerType);
        services.AddSingleton(new ActionRunnerRegistration(runnerType));
        return services;
    }
}

/// <summary>A runner type made available to the engine by <c>AddActionRunner</c>.</summary>
internal sealed record ActionRunnerRegistration(Type RunnerType);
