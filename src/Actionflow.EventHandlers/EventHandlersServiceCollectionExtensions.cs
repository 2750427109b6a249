using Actionflow.Core;
using Actionflow.Core.Abstractions;
using Actionflow.EventHandlers;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

public static class EventHandlersServiceCollectionExtensions
{
    /// <summary>
    /// Actionflow's engine and its two consumers (events, action triggers), with the engine's options bound from
    /// <c>Actionflow:Engine</c> and validated at start. Continue with a database and a transport (see <see cref="ActionflowBuilder"/>).
    /// </summary>
    public static ActionflowBuilder AddActionflow(this IServiceCollection services, IConfiguration configuration)
    {
        var builder = new ActionflowBuilder(services, configuration);
        services.AddActionflowEngine(builder.Settings.GetSection("Engine"));
        services.AddEventHandlers();
        return builder;
    }

    /// <summary>The events and actions consumers; the transport registered beside them delivers their messages.</summary>
    public static IServiceCollection AddEventHandlers(this IServiceCollection services)
    {
        services.AddSingleton<IMessageHandler, EventsConsumer>();
        services.AddSingleton<IMessageHandler, ActionsConsumer>();
        return services;
    }
}
