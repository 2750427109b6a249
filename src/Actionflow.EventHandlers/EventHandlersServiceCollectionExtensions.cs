using Actionflow.Core.Abstractions;
using Actionflow.EventHandlers;

namespace Microsoft.Extensions.DependencyInjection;

public static class EventHandlersServiceCollectionExtensions
{
    /// <summary>The events and actions consumers; the transport registered beside them delivers their messages.</summary>
    public static IServiceCollection AddEventHandlers(this IServiceCollection services)
    {
        services.AddSingleton<IMessageHandler, EventsConsumer>();
        services.AddSingleton<IMessageHandler, ActionsConsumer>();
        return services;
    }
}
