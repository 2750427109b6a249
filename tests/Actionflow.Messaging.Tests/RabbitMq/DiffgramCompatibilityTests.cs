using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

public sealed class DiffgramCompatibilityTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task StartAsync_CompatMode_PikaStyleDeclaresOfDiffgramStillSucceed()
    {
        var vhost = await rabbit.CreateVhostAsync();
        try
        {
            var options = new MessagingOptions { Broker = rabbit.BrokerFor(vhost), DiffgramCompatible = true, Concurrency = 2 };
            var handler = TestHandler.Acking(QueueNames.Events);
            var actions = TestHandler.Acking(QueueNames.ActionTriggers);
            using var host = MessagingHost.RabbitMq(output, options, handler, actions);
            await host.StartAsync();
            try
            {
                var factory = new ConnectionFactory { Uri = new Uri(rabbit.BrokerFor(vhost)), ClientProvidedName = "pika-lookalike" };
                await using var diffgram = await factory.CreateConnectionAsync();

                // Actionflow did not take Diffgram's actions exchange or queue...
                await AssertNotFoundAsync(diffgram, channel => channel.ExchangeDeclarePassiveAsync("actions"));
                await AssertNotFoundAsync(diffgram, channel => channel.QueueDeclarePassiveAsync("actions.triggers"));

                // ...and what QueueClient.py and EventsConsumer.py declare (pika defaults: durable=False) is accepted.
                await using (var channel = await diffgram.CreateChannelAsync())
                {
                    await channel.ExchangeDeclareAsync("actions", ExchangeType.Direct, durable: false, autoDelete: false);
                    await channel.ExchangeDeclareAsync("events", ExchangeType.Direct, durable: false, autoDelete: false);
                    await channel.ExchangeDeclareAsync("exports", ExchangeType.Direct, durable: false, autoDelete: false);
                    await channel.QueueDeclareAsync("event.new", durable: false, exclusive: false, autoDelete: false, arguments: null);
                    await channel.QueueBindAsync("event.new", "events", "events.new");
                    await channel.QueueDeclareAsync("actions.triggers", durable: false, exclusive: false, autoDelete: false, arguments: null);

                    // A Diffgram publisher's event reaches Actionflow's events handler.
                    await channel.BasicPublishAsync("events", "events.new", mandatory: true,
                        new BasicProperties { ContentType = "application/json" }, Encoding.UTF8.GetBytes("{\"kind\":\"input_file_uploaded\"}"));
                }

                await Wait.UntilAsync(() => !handler.Received.IsEmpty, Timeout, "Actionflow consumed Diffgram's event");
                Assert.Equal("{\"kind\":\"input_file_uploaded\"}", handler.Bodies()[0]);

                // Triggers go through Actionflow's own durable names.
                await host.Services.GetRequiredService<IMessagePublisher>().PublishAsync(QueueNames.ActionTriggers, Encoding.UTF8.GetBytes("{}"), null, CancellationToken.None);
                await Wait.UntilAsync(() => !actions.Received.IsEmpty, Timeout, "the trigger went through actionflow.actions.triggers");
                await using (var channel = await diffgram.CreateChannelAsync())
                {
                    await channel.QueueDeclareAsync(MessagingOptions.CompatActionsQueue, durable: true, exclusive: false, autoDelete: false,
                        arguments: new Dictionary<string, object?>
                        {
                            ["x-queue-type"] = "quorum",
                            ["x-dead-letter-exchange"] = options.DeadLetterExchange,
                            ["x-delivery-limit"] = options.DeliveryLimit,
                        });
                    Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync("actions.triggers")).MessageCount);
                }
            }
            finally
            {
                await host.StopAsync();
            }
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }

    private static async Task AssertNotFoundAsync(IConnection connection, Func<IChannel, Task> declarePassive)
    {
        await using var channel = await connection.CreateChannelAsync();
        var error = await Assert.ThrowsAsync<OperationInterruptedException>(() => declarePassive(channel));
        Assert.Equal((ushort?)Constants.NotFound, error.ShutdownReason?.ReplyCode);
    }
}
