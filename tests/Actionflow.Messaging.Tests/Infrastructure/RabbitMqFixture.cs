using System.Diagnostics;
using RabbitMQ.Client;

namespace Actionflow.Messaging.Tests.Infrastructure;

/// <summary>
/// The real broker named by <c>ACTIONFLOW_TEST_RABBITMQ</c> (tests fail without it), an admin connection for
/// assertions, and names that are unique per test.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "ACTIONFLOW_TEST_RABBITMQ";

    private IConnection? _admin;

    public RabbitMqFixture()
    {
        var broker = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(broker))
        {
            throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set. These tests need a real RabbitMQ: run scripts/start-services.sh (as root) and export " +
                $"{EnvironmentVariable}=amqp://actionflow:actionflow@127.0.0.1:5672/");
        }

        Broker = broker.TrimEnd('/') + "/";
    }

    /// <summary>The broker URI with the default vhost.</summary>
    public string Broker { get; }

    public IConnection Admin => _admin ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>A channel on the admin connection, once it is open (it may be recovering after a broker restart).</summary>
    public async Task<IChannel> AdminChannelAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Admin.IsOpen && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return await Admin.CreateChannelAsync();
    }

    public async Task InitializeAsync()
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(Broker),
            ClientProvidedName = "actionflow-tests-admin",
            AutomaticRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500),
        };
        _admin = await factory.CreateConnectionAsync();
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }
    }

    /// <summary>Options with names nobody else uses, fast backoffs, and a short grace period.</summary>
    public MessagingOptions NewOptions(string? broker = null)
    {
        var id = NewId();
        return new MessagingOptions
        {
            Broker = broker ?? Broker,
            Concurrency = 4,
            ShutdownGracePeriod = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            RetryBackoff = TimeSpan.FromMilliseconds(50),
            MaxRetryBackoff = TimeSpan.FromMilliseconds(200),
            ConnectionName = $"actionflow-tests-{id}",
            EventsExchange = $"t.{id}.events",
            EventsQueue = $"t.{id}.event.new",
            EventsRoutingKey = "events.new",
            ActionsExchange = $"t.{id}.actions",
            ActionsQueue = $"t.{id}.actions.triggers",
            ActionsRoutingKey = "actions.new_actions_trigger",
            DeadLetterExchange = $"t.{id}.dead-letter",
            DeadLetterQueue = $"t.{id}.dead-letters",
        };
    }

    /// <summary>Deletes the queues and exchanges of <paramref name="options"/> (default vhost).</summary>
    public async Task DeleteTopologyAsync(MessagingOptions options)
    {
        var topology = MessagingTopology.From(options);
        await using var channel = await AdminChannelAsync();
        foreach (var queue in new[] { topology.Events.Queue, topology.Actions.Queue, topology.DeadLetterQueue })
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        }

        foreach (var exchange in new[] { topology.Events.Exchange, topology.Actions.Exchange, topology.DeadLetterExchange })
        {
            await channel.ExchangeDeleteAsync(exchange, ifUnused: false);
        }
    }

    public async Task<uint> MessageCountAsync(string queue)
    {
        await using var channel = await Admin.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    /// <summary>
    /// Asserts <paramref name="queue"/> holds no ready message for a while: a message left unacked comes back only a
    /// moment after its channel closed.
    /// </summary>
    public async Task AssertStaysEmptyAsync(string queue)
    {
        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        while (DateTime.UtcNow < until)
        {
            var count = await MessageCountAsync(queue);
            if (count != 0)
            {
                throw new Xunit.Sdk.XunitException($"queue {queue} holds {count} messages; expected none");
            }

            await Task.Delay(100);
        }
    }

    public async Task<BasicGetResult?> GetAsync(string queue, TimeSpan timeout)
    {
        await using var channel = await Admin.CreateChannelAsync();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var result = await channel.BasicGetAsync(queue, autoAck: true);
            if (result is not null || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A new vhost the test user may use, for tests that need fixed names (Diffgram's). Delete it with <see cref="DeleteVhostAsync"/>.</summary>
    public async Task<string> CreateVhostAsync()
    {
        var vhost = $"actionflow-test-{NewId()}";
        var user = new Uri(Broker).UserInfo.Split(':')[0];
        await RabbitMqCtlAsync("add_vhost", vhost);
        await RabbitMqCtlAsync("set_permissions", "-p", vhost, Uri.UnescapeDataString(user), ".*", ".*", ".*");
        return vhost;
    }

    public static Task DeleteVhostAsync(string vhost) => RabbitMqCtlAsync("delete_vhost", vhost);

    public string BrokerFor(string vhost) => Broker + Uri.EscapeDataString(vhost);

    public static string NewId() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>The repository root (where Actionflow.slnx is), for scripts/.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Actionflow.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Actionflow.slnx not found above " + AppContext.BaseDirectory);
    }

    public static async Task<string> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}{await stdout}");
        }

        return await stdout;
    }

    private static Task<string> RabbitMqCtlAsync(params string[] arguments) => RunAsync("rabbitmqctl", ["-q", .. arguments]);
}
