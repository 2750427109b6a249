using Actionflow.Core;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Actionflow.Messaging.Embedded;
using Actionflow.Messaging.RabbitMq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Actionflow.Messaging;

public static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// RabbitMQ (<c>Actionflow:Broker</c>, <c>Actionflow:Concurrency</c>, ... bound and validated at start), with its
    /// dead-letter queue archived into the database so dead letters can be listed and replayed.
    /// </summary>
    public static ActionflowBuilder UseRabbitMq(this ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder.Services, options => builder.Settings.Bind(options), requireBroker: true);
        AddRabbitMq(builder.Services);
        builder.Services.AddRabbitMqDeadLetterArchive();
        return builder;
    }

    /// <summary>The embedded transport: the database's outbox table is the queue (SQLite; one process).</summary>
    public static ActionflowBuilder UseEmbedded(this ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder.Services, options => builder.Settings.Bind(options), requireBroker: false);
        AddEmbedded(builder.Services);
        return builder;
    }

    /// <summary>
    /// RabbitMQ transport: one connection (checked and topology declared at start), a confirmed
    /// <see cref="IMessagePublisher"/>, the outbox relay, and a consumer for every registered <see cref="IMessageHandler"/>.
    /// </summary>
    public static IServiceCollection AddRabbitMqMessaging(this IServiceCollection services, MessagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        AddCommon(services, target => options.CopyTo(target), requireBroker: true);
        AddRabbitMq(services);
        return services;
    }

    private static void AddRabbitMq(IServiceCollection services)
    {
        services.TryAddSingleton<RabbitMqConnection>();
        services.TryAddSingleton<RabbitMqPublisher>();
        services.TryAddSingleton<IMessagePublisher>(provider => provider.GetRequiredService<RabbitMqPublisher>());
        // Registered first: connects and declares the topology before the relay and consumers start, stops after them.
        services.AddHostedService(provider => provider.GetRequiredService<RabbitMqConnection>());
        services.AddHostedService<OutboxRelayService>();
        services.AddHostedService<RabbitMqConsumerService>();
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
        ArgumentNullException.ThrowIfNull(options);
        AddCommon(services, target => options.CopyTo(target), requireBroker: false);
        AddEmbedded(services);
        return services;
    }

    private static void AddEmbedded(IServiceCollection services)
    {
        services.TryAddSingleton<EmbeddedPublisher>();
        services.TryAddSingleton<IMessagePublisher>(provider => provider.GetRequiredService<EmbeddedPublisher>());
        services.AddHostedService<EmbeddedConsumerService>();
    }

    private static void AddCommon(IServiceCollection services, Action<MessagingOptions> configure, bool requireBroker)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MessagingOptions>().Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MessagingOptions>>(new MessagingOptionsValidator(requireBroker));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOutboxSignal, OutboxSignal>();
        services.TryAddSingleton<DueWakeups>();
    }
}
