using System.Net;
using System.Net.Sockets;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

public sealed class ConnectionStartupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StartAsync_BrokerEmpty_FailsNamingTheEnvironmentVariable()
    {
        using var host = MessagingHost.RabbitMq(output, new MessagingOptions { Broker = "" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Actionflow__Broker", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_BrokerNotAnAmqpUri_FailsNamingTheEnvironmentVariable()
    {
        using var host = MessagingHost.RabbitMq(output, new MessagingOptions { Broker = "http://rabbitmq:15672" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Actionflow__Broker", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NothingListens_RetriesThenFailsWithoutShowingThePassword()
    {
        var port = FreePort();
        var options = new MessagingOptions { Broker = $"amqp://user:s3cret@127.0.0.1:{port}/", ConnectTimeout = TimeSpan.FromSeconds(2) };
        using var host = MessagingHost.RabbitMq(output, options);

        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Could not connect to RabbitMQ", error.Message, StringComparison.Ordinal);
        Assert.Contains("Actionflow__Broker", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class WrongCredentialsTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task StartAsync_WrongPassword_FailsAtOnceSayingCredentialsWereRefused()
    {
        var uri = new UriBuilder(rabbit.Broker) { Password = "wrong-password" };
        using var host = MessagingHost.RabbitMq(output, new MessagingOptions { Broker = uri.Uri.ToString(), ConnectTimeout = TimeSpan.FromSeconds(30) });

        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("refused the user name or password", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", error.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }
}
