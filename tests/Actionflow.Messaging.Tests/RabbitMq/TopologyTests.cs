using Actionflow.Messaging.RabbitMq;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

public sealed class TopologyTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task StartAsync_DefaultMode_DeclaresDurableQuorumQueuesWithDeadLettering()
    {
        var options = rabbit.NewOptions();
        options.DeliveryLimit = 7;
        using var host = MessagingHost.RabbitMq(output, options);
        await host.StartAsync();
        try
        {
            var topology = host.Services.GetRequiredService<RabbitMqConnection>().Topology;
            foreach (var queue in new[] { topology.Events.Queue, topology.Actions.Queue })
            {
                // Re-declaring with the same settings is accepted; any other settings are refused (406).
                await using (var channel = await rabbit.Admin.CreateChannelAsync())
                {
                    await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?>
                    {
                        ["x-queue-type"] = "quorum",
                        ["x-dead-letter-exchange"] = options.DeadLetterExchange,
                        ["x-delivery-limit"] = 7,
                    });
                }

                await AssertRefusedAsync(channel => channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: null));
                await AssertRefusedAsync(channel => channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false, arguments: null));
            }

            await using (var channel = await rabbit.Admin.CreateChannelAsync())
            {
                await channel.QueueDeclareAsync(options.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false,
                    arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
                await channel.ExchangeDeclareAsync(options.EventsExchange, ExchangeType.Direct, durable: true);
                await channel.ExchangeDeclareAsync(options.ActionsExchange, ExchangeType.Direct, durable: true);
                await channel.ExchangeDeclareAsync(options.DeadLetterExchange, ExchangeType.Fanout, durable: true);
            }

            await AssertRefusedAsync(channel => channel.ExchangeDeclareAsync(options.EventsExchange, ExchangeType.Direct, durable: false));
        }
        finally
        {
            await host.StopAsync();
            await rabbit.DeleteTopologyAsync(options);
        }
    }

    [Fact]
    public async Task StartAsync_BegunBeforeTheHost_HostStartReusesTheSameConnectionAndTopology()
    {
        // The host begins the connection while the database migrates; the hosted service's start must wait for that
        // work, not open a second connection.
        var options = rabbit.NewOptions();
        using var host = MessagingHost.RabbitMq(output, options);
        var connection = host.Services.GetRequiredService<RabbitMqConnection>();
        var early = connection.StartAsync(CancellationToken.None);
        await host.StartAsync();
        try
        {
            await early;
            var first = await connection.GetConnectionAsync(CancellationToken.None);
            await connection.StartAsync(CancellationToken.None);

            Assert.Same(first, await connection.GetConnectionAsync(CancellationToken.None));
            Assert.True(connection.IsOpen);
            await using var channel = await rabbit.Admin.CreateChannelAsync();
            await channel.QueueDeclarePassiveAsync(options.EventsQueue);
            await channel.QueueDeclarePassiveAsync(options.ActionsQueue);
        }
        finally
        {
            await host.StopAsync();
            await rabbit.DeleteTopologyAsync(options);
        }
    }

    [Fact]
    public async Task StartAsync_QueueExistsWithOtherSettings_FailsNamingTheConflict()
    {
        var options = rabbit.NewOptions();
        await using (var channel = await rabbit.Admin.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync(options.EventsQueue, durable: false, exclusive: false, autoDelete: false);
        }

        using var host = MessagingHost.RabbitMq(output, options);
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
            Assert.Contains("already exists with other settings", error.Message, StringComparison.Ordinal);
            Assert.Contains(options.EventsQueue, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteTopologyAsync(options);
        }
    }

    private async Task AssertRefusedAsync(Func<IChannel, Task> declare)
    {
        await using var channel = await rabbit.Admin.CreateChannelAsync();
        var error = await Assert.ThrowsAsync<OperationInterruptedException>(() => declare(channel));
        Assert.Equal((ushort?)Constants.PreconditionFailed, error.ShutdownReason?.ReplyCode);
    }
}
