using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Actionflow.Messaging.Embedded;
using Actionflow.Messaging.RabbitMq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Actionflow.Messaging;

public static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// RabbitMQ transport: one connection (checked and topology declared at start), a confirmed
    /// <see cref="IMessagePublisher"/>, the outbox relay, and a consumer for every registered <see cref="IMessageHandler"/>.
    /// </summary>
    public static IServiceCollection AddRabbitMqMessaging(this IServiceCollection services, MessagingOptions options)
    {
        AddCommon(services, options, requireBroker: true);
        services.TryAddSingleton<RabbitMqConnection>();
        services.TryAddSingleton<RabbitMqPublisher>();
        services.TryAddSingleton<IMessagePublisher>(provider => provider.GetRequiredService<RabbitMqPublisher>());
        // Registered first: connects and declares the topology before the relay and consumers start, stops after them.
        services.AddHostedService(provider => provider.GetRequiredService<RabbitMqConnection>());
        services.AddHostedService<OutboxRelayService>();
        services.AddHostedService<RabbitMqConsumerService>();
        return services;
    }

    /// <summary>
    /// Archives RabbitMQ's dead-letter queue into the database (needs an <see cref="IDeadLetterStore"/>), so dead
    /// letters can be listed per project and replayed, as the embedded transport's are.
    /// </summary>
    public static IServiceCollection AddRabbitMqDeadLetterArchive(this IServiceCollection services)
    {
        services.AddSingleton<IMessageHandler>(provider => new DeadLetterArchiver(
            provider.GetRequiredService<IDeadLetterStore>(),
            provider.GetRequiredService<RabbitMqConnection>().Topology,
            provider.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Embedded transport (no broker): the database's outbox table is the queue. Registers an <see cref="IMessagePublisher"/>
    /// and a consumer for every registered <see cref="IMessageHandler"/>; needs an <see cref="IEmbeddedQueueStore"/>.
    /// </summary>
    public static IServiceCollection AddEmbeddedMessaging(this IServiceCollection services, MessagingOptions options)
    {
        AddCommon(services, options, requireBroker: false);
        services.TryAddSingleton<EmbeddedPublisher>();
        services.TryAddSingleton<IMessagePublisher>(provider => provider.GetRequiredService<EmbeddedPublisher>());
        services.AddHostedService<EmbeddedConsumerService>();
        return services;
    }

    private static void AddCommon(IServiceCollection services, MessagingOptions options, bool requireBroker)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddOptions<MessagingOptions>().Configure(target => options.CopyTo(target)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MessagingOptions>>(new MessagingOptionsValidator(requireBroker));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOutboxSignal, OutboxSignal>();
        services.TryAddSingleton<RetryWakeups>();
    }
}
