using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>
/// Runs every registered <see cref="IMessageHandler"/> against its RabbitMQ queue: one channel per handler with
/// manual acks, prefetch and dispatch concurrency from <see cref="MessagingOptions"/>. On stop it cancels the
/// consumers, lets running handlers finish for the grace period, then cancels them (their messages go back).
/// </summary>
public sealed class RabbitMqConsumerService : BackgroundService
{
    private readonly RabbitMqConnection _connection;
    private readonly RabbitMqPublisher _publisher;
    private readonly IMessageHandler[] _handlers;
    private readonly MessagingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RabbitMqConsumerService> _logger;
    private readonly ConsumerLifetime _lifetime = new();

    public RabbitMqConsumerService(
        RabbitMqConnection connection,
        RabbitMqPublisher publisher,
        IEnumerable<IMessageHandler> handlers,
        IOptions<MessagingOptions> options,
        TimeProvider time,
        ILogger<RabbitMqConsumerService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection;
        _publisher = publisher;
        _handlers = [.. handlers];
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Handlers running right now.</summary>
    public int InFlight => _lifetime.InFlight.Count;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            _ = _connection.Topology.Route(handler.Queue);
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host's own shutdown timeout wins over our grace period.
        await using var registration = cancellationToken.Register(_lifetime.CancelHandlers);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _lifetime.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var stopping = stoppingToken.Register(_lifetime.BeginStopping);
        var consumers = _handlers
            .Select(handler => new RabbitMqQueueConsumer(handler, _connection.Topology.Route(handler.Queue), _connection, _publisher, _options, _lifetime, _time, _logger))
            .ToArray();
        try
        {
            await Task.WhenAll(consumers.Select(consumer => consumer.RunAsync(stoppingToken)));
            await _lifetime.DrainAsync(_options.ShutdownGracePeriod, _logger);
        }
        finally
        {
            foreach (var consumer in consumers)
            {
                await consumer.DisposeAsync();
            }
        }
    }
}
