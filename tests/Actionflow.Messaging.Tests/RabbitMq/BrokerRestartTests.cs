using System.Diagnostics;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Messaging.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.RabbitMq;

/// <summary>Restarts the broker: runs alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrokerRestartCollection
{
    public const string Name = "Broker restart";
}

/// <remarks>Other test assemblies using the same broker see the restart too: filter with <c>Category=BrokerRestart</c>.</remarks>
[Collection(BrokerRestartCollection.Name)]
[Trait("Category", "BrokerRestart")]
public sealed class BrokerRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);
    private readonly RabbitMqFixture _rabbit = new();

    public Task InitializeAsync() => _rabbit.InitializeAsync();

    public Task DisposeAsync() => _rabbit.DisposeAsync();

    [Fact]
    public async Task Consumers_BrokerRestartsWhileIdle_ResumeWithoutRestartingTheProcess()
    {
        var options = _rabbit.NewOptions();
        var vhost = await _rabbit.CreateVhostAsync();
        var compatOptions = new MessagingOptions { Broker = _rabbit.BrokerFor(vhost), DiffgramCompatible = true, Concurrency = 2, ConnectionName = "actionflow-tests-compat" };
        var events = TestHandler.Acking(QueueNames.Events);
        var compatEvents = TestHandler.Acking(QueueNames.Events);
        using var host = MessagingHost.RabbitMq(output, options, events);
        using var compatHost = MessagingHost.RabbitMq(output, compatOptions, compatEvents);
        await host.StartAsync();
        await compatHost.StartAsync();
        try
        {
            var publisher = host.Services.GetRequiredService<IMessagePublisher>();
            var compatPublisher = compatHost.Services.GetRequiredService<IMessagePublisher>();
            await publisher.PublishAsync(QueueNames.Events, Encoding.UTF8.GetBytes("before"), null, CancellationToken.None);
            await compatPublisher.PublishAsync(QueueNames.Events, Encoding.UTF8.GetBytes("before"), null, CancellationToken.None);
            await Wait.UntilAsync(() => events.Received.Count == 1 && compatEvents.Received.Count == 1, TimeSpan.FromSeconds(10), "both consumers work before the restart");

            output.WriteLine(await RestartBrokerAsync());
            var restarted = Stopwatch.StartNew();

            var published = await PublishWhenPossibleAsync(publisher, "after");
            var compatPublished = await PublishWhenPossibleAsync(compatPublisher, "after");
            await Wait.UntilAsync(() => events.Bodies().Contains("after"), RecoveryTimeout, "the consumer resumed after the restart");
            var consumed = restarted.Elapsed;
            await Wait.UntilAsync(() => compatEvents.Bodies().Contains("after"), RecoveryTimeout, "the compat consumer resumed (transient event.new re-declared)");
            output.WriteLine($"after the broker was back: first confirmed publish {published.TotalSeconds:0.0} s (compat {compatPublished.TotalSeconds:0.0} s), consumed {consumed.TotalSeconds:0.0} s, compat consumed {restarted.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await compatHost.StopAsync();
            await host.StopAsync();
            await _rabbit.DeleteTopologyAsync(options);
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }

    private static async Task<TimeSpan> PublishWhenPossibleAsync(IMessagePublisher publisher, string body)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await publisher.PublishAsync(QueueNames.Events, Encoding.UTF8.GetBytes(body), null, CancellationToken.None);
                return watch.Elapsed;
            }
            catch (Exception) when (watch.Elapsed < RecoveryTimeout)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<string> RestartBrokerAsync()
    {
        var script = Path.Combine(RabbitMqFixture.RepositoryRoot(), "scripts", "rabbitmq-restart.sh");
        if (File.Exists(script))
        {
            return await RabbitMqFixture.RunAsync("bash", script, "--mode", "app", "--down", "2");
        }

        await RabbitMqFixture.RunAsync("rabbitmqctl", "-q", "stop_app");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await RabbitMqFixture.RunAsync("rabbitmqctl", "-q", "start_app");
        return "restarted with rabbitmqctl stop_app/start_app";
    }
}
