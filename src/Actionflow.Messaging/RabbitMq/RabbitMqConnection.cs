using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>
/// The process's one long-lived, auto-recovering connection. As a hosted service it connects (retrying for
/// <see cref="MessagingOptions.ConnectTimeout"/>) and declares the topology before the consumers and the relay start;
/// the connection is closed when the container is disposed, after every hosted service stopped.
/// </summary>
public sealed class RabbitMqConnection : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan MaxConnectBackoff = TimeSpan.FromSeconds(5);

    private readonly MessagingOptions _options;
    private readonly ILogger<RabbitMqConnection> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _startLock = new();
    private IConnection? _connection;
    private Task? _started;

    public RabbitMqConnection(IOptions<MessagingOptions> options, ILogger<RabbitMqConnection> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        _time = time;
        Topology = MessagingTopology.From(_options);
        BrokerForDisplay = Redact(_options.Broker);
    }

    public MessagingTopology Topology { get; }

    /// <summary>The broker URI without its password, for messages and logs.</summary>
    public string BrokerForDisplay { get; }

    public bool IsOpen => _connection?.IsOpen == true;

    internal MessagingOptions Options => _options;

    /// <summary>
    /// Connects and declares the topology, once: the host begins it while the database migrates, and the start of this
    /// hosted service then waits for the same work instead of doing it again.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Task started;
        lock (_startLock)
        {
            started = _started ??= ConnectAndDeclareAsync(_disposed.Token);
        }

        return started.WaitAsync(cancellationToken);
    }

    private async Task ConnectAndDeclareAsync(CancellationToken cancellationToken)
    {
        await GetConnectionAsync(cancellationToken);
        await DeclareTopologyAsync(cancellationToken);
    }

    /// <summary>
    /// Nothing to do: the connection stays open until the container is disposed, so hosted services that stop after
    /// this one (registered before it) can still publish while they drain.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The open (or recovering) connection; connects on first use, retrying for <see cref="MessagingOptions.ConnectTimeout"/>.</summary>
    public async Task<IConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }

        await _connectLock.WaitAsync(cancellationToken);
        try
        {
            return _connection ??= await ConnectAsync(cancellationToken);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Declares the exchanges, queues and bindings (idempotent). Topology recovery re-declares them after a reconnect.</summary>
    public async Task DeclareTopologyAsync(CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await RabbitMqTopology.DeclareAsync(channel, Topology, cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
        {
            throw new InvalidOperationException(
                $"RabbitMQ refused Actionflow's topology at {BrokerForDisplay}: {ex.ShutdownReason.ReplyText}. An exchange or queue of that name " +
                "already exists with other settings (durability, type or arguments); delete it, or choose other names (Actionflow__EventsQueue, ...), " +
                "or set Actionflow__DiffgramCompatible=true when the broker is shared with Diffgram.",
                ex);
        }

        Log.TopologyDeclared(_logger, Topology.Events.Queue, Topology.Actions.Queue, Topology.DeadLetterQueue, Topology.DiffgramCompatible);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync();
        if (_connection is { } connection)
        {
            try
            {
                if (connection.IsOpen)
                {
                    await connection.CloseAsync(Constants.ReplySuccess, "actionflow stopping", TimeSpan.FromSeconds(5));
                }

                await connection.DisposeAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.ConnectionCloseFailed(_logger, ex);
            }
        }

        _connectLock.Dispose();
        _disposed.Dispose();
    }

    internal ConnectionFactory CreateFactory() => new()
    {
        Uri = new Uri(_options.Broker),
        AutomaticRecoveryEnabled = true,
        TopologyRecoveryEnabled = true,
        NetworkRecoveryInterval = _options.RecoveryInterval,
        ClientProvidedName = string.IsNullOrWhiteSpace(_options.ConnectionName) ? $"actionflow@{Environment.MachineName}" : _options.ConnectionName,
        // Consumers dispatch on one loop per channel and run their handlers concurrently themselves (RabbitMqQueueConsumer).
        ConsumerDispatchConcurrency = 1,
    };

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var factory = CreateFactory();
        var deadline = _time.GetUtcNow() + _options.ConnectTimeout;
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await factory.CreateConnectionAsync(cancellationToken);
                Subscribe(connection);
                Log.Connected(_logger, BrokerForDisplay, factory.ClientProvidedName ?? "", attempt);
                return connection;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (IsAuthenticationFailure(ex))
                {
                    throw new InvalidOperationException(
                        $"RabbitMQ at {BrokerForDisplay} refused the user name or password in Actionflow__Broker: {ex.GetBaseException().Message}", ex);
                }

                if (_time.GetUtcNow() + delay > deadline)
                {
                    throw new InvalidOperationException(
                        $"Could not connect to RabbitMQ at {BrokerForDisplay} (Actionflow__Broker) within {_options.ConnectTimeout.TotalSeconds:0} s " +
                        $"({attempt} attempts): {ex.GetBaseException().Message}. Start the broker, fix Actionflow__Broker, or leave it empty for the embedded transport.",
                        ex);
                }

                Log.ConnectRetry(_logger, BrokerForDisplay, attempt, (long)delay.TotalMilliseconds, ex.GetBaseException().Message);
                await Task.Delay(delay, _time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxConnectBackoff.Ticks));
            }
        }
    }

    private void Subscribe(IConnection connection)
    {
        connection.ConnectionShutdownAsync += (_, args) =>
        {
            if (args.Initiator != ShutdownInitiator.Application)
            {
                Log.ConnectionLost(_logger, args.ReplyCode, args.ReplyText);
            }

            return Task.CompletedTask;
        };
        connection.RecoverySucceededAsync += (_, _) =>
        {
            Log.ConnectionRecovered(_logger, BrokerForDisplay);
            // Topology recovery already replayed our declarations; declaring again (off the recovery loop) also
            // covers entities deleted while we were connected, e.g. a transient compat queue after a broker restart.
            _ = Task.Run(RedeclareAfterRecoveryAsync);
            return Task.CompletedTask;
        };
        connection.ConnectionRecoveryErrorAsync += (_, args) =>
        {
            Log.RecoveryAttemptFailed(_logger, args.Exception.GetBaseException().Message);
            return Task.CompletedTask;
        };
        connection.ConnectionBlockedAsync += (_, args) =>
        {
            Log.ConnectionBlocked(_logger, args.Reason);
            return Task.CompletedTask;
        };
        connection.ConnectionUnblockedAsync += (_, _) =>
        {
            Log.ConnectionUnblocked(_logger);
            return Task.CompletedTask;
        };
        connection.CallbackExceptionAsync += (_, args) =>
        {
            Log.CallbackException(_logger, args.Exception);
            return Task.CompletedTask;
        };
    }

    private async Task RedeclareAfterRecoveryAsync()
    {
        try
        {
            await DeclareTopologyAsync(_disposed.Token);
        }
        catch (Exception ex) when (!_disposed.IsCancellationRequested)
        {
            Log.RedeclareFailed(_logger, ex);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static bool IsAuthenticationFailure(Exception ex)
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            if (current is AuthenticationFailureException)
            {
                return true;
            }
        }

        return false;
    }

    internal static string Redact(string broker)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri))
        {
            return "(invalid URI)";
        }

        var builder = new UriBuilder(uri) { Password = "" };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            builder.UserName = uri.UserInfo.Split(':')[0];
        }

        return builder.Uri.ToString();
    }
}
