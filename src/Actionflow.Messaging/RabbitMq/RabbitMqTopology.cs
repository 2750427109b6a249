using RabbitMQ.Client;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>Declares Actionflow's exchanges and queues.</summary>
internal static class RabbitMqTopology
{
    public static async Task DeclareAsync(IChannel channel, MessagingTopology topology, CancellationToken cancellationToken)
    {
        await channel.ExchangeDeclareAsync(topology.DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(topology.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, arguments: QuorumArguments(), cancellationToken: cancellationToken);
        await channel.QueueBindAsync(topology.DeadLetterQueue, topology.DeadLetterExchange, routingKey: "", arguments: null, cancellationToken: cancellationToken);

        foreach (var route in topology.Routes)
        {
            if (route.Durable)
            {
                await channel.ExchangeDeclareAsync(route.Exchange, ExchangeType.Direct, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken);
                var arguments = QuorumArguments();
                arguments["x-dead-letter-exchange"] = topology.DeadLetterExchange;
                arguments["x-delivery-limit"] = topology.DeliveryLimit;
                await channel.QueueDeclareAsync(route.Queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: cancellationToken);
            }
            else
            {
                // Exactly as Diffgram's pika clients declare them (durable=False, no arguments): any other
                // declaration fails theirs, or ours, with PRECONDITION_FAILED.
                await channel.ExchangeDeclareAsync(route.Exchange, ExchangeType.Direct, durable: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken);
                await channel.QueueDeclareAsync(route.Queue, durable: false, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken);
            }

            await channel.QueueBindAsync(route.Queue, route.Exchange, route.RoutingKey, arguments: null, cancellationToken: cancellationToken);
        }
    }

    private static Dictionary<string, object?> QuorumArguments() => new(StringComparer.Ordinal) { ["x-queue-type"] = "quorum" };
}
