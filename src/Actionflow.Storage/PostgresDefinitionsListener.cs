using Actionflow.Core.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Actionflow.Storage;

/// <summary>
/// PostgreSQL: listens on <see cref="ActionflowDbContext.DefinitionsChannel"/> on a connection of its own and counts
/// each notification (a definitions change committed by any process) in the <see cref="DefinitionsWatch"/>, which
/// wakes the refresher. The watch follows only while the connection is open and listening: from the moment it is
/// lost (or before it is first open) every event reads the definitions version, as without it, and it is opened again.
/// </summary>
public sealed class PostgresDefinitionsListener(StorageConnection connection, DefinitionsWatch watch, TimeProvider time, ILogger<PostgresDefinitionsListener> logger)
    : BackgroundService
{
    /// <summary>The application name of the listening connection (<c>pg_stat_activity.application_name</c>).</summary>
    public const string ApplicationName = "actionflow-definitions-listener";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Returns only by an exception; once it listened, a later loss retries from the first delay again.
                await ListenAsync(() => retry = FirstRetry, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                StorageLog.DefinitionsListenLost(logger, retry.TotalMilliseconds, ex);
                await Task.Delay(retry, time, stoppingToken);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
            }
        }
    }

    private async Task ListenAsync(Action onListening, CancellationToken stoppingToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString)
        {
            // Its own physical connection, never one of the pool's, and a keepalive so a dead peer is found while it waits.
            Pooling = false,
            KeepAlive = 15,
            ApplicationName = ApplicationName,
        };
        await using var listening = new NpgsqlConnection(builder.ConnectionString);
        listening.Notification += (_, _) => watch.Changed();
        await listening.OpenAsync(stoppingToken);
        await using (var listen = new NpgsqlCommand("LISTEN " + ActionflowDbContext.DefinitionsChannel, listening))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        // From here every commit's notification reaches this connection; Follow counts a change first, so whatever was
        // committed before (while nobody listened) is read by the next refresh.
        watch.Follow(true);
        StorageLog.DefinitionsListening(logger);
        onListening();
        try
        {
            while (true)
            {
                await listening.WaitAsync(stoppingToken);
            }
        }
        finally
        {
            // Lost (or stopping): from now on every event reads the version until this listens again.
            watch.Follow(false);
        }
    }
}
