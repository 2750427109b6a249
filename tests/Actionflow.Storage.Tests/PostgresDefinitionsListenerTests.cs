using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>
/// The listening connection: a change committed by another process is counted when its notification arrives; while the
/// connection is lost nothing is trusted (every event reads the version) until it listens again.
/// </summary>
public sealed class PostgresDefinitionsListenerTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Notification_ChangeCommittedElsewhere_Counted()
    {
        var seeded = await SeedWorkflowAsync(1, steps: new Step(0));
        var watch = new DefinitionsWatch();
        await using var listener = await StartAsync(watch);
        var before = watch.Changes;

        // Another process's change: its contexts count nothing in this watch, only the notification does.
        await ChangeElsewhereAsync(seeded.WorkflowId);

        await UntilAsync(() => watch.Changes > before, "the notification was not counted");
    }

    [Fact]
    public async Task ConnectionLost_StopsFollowing_ThenListensAgainWithAChangePending()
    {
        var watch = new DefinitionsWatch();
        await using var listener = await StartAsync(watch);
        watch.Applied(watch.Changes);
        Assert.True(watch.IsCurrent);

        await using (var admin = new NpgsqlConnection(Db.ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = @name", admin);
            kill.Parameters.AddWithValue("name", PostgresDefinitionsListener.ApplicationName);
            Assert.Equal(1L, await kill.ExecuteScalarAsync());
        }

        // Lost: not current (events read the version) whatever was applied before.
        var lostAt = watch.Changes;
        await UntilAsync(() => !watch.Following || watch.Changes > lostAt, "the lost connection went unnoticed");
        // Back: it counts a change as it starts following again, so the first event after reads what was missed.
        await UntilAsync(() => watch.Following && watch.Changes > lostAt, "the listener did not come back");
        Assert.False(watch.IsCurrent);
    }

    private async Task<Running> StartAsync(DefinitionsWatch watch)
    {
        var listener = new PostgresDefinitionsListener(
            new StorageConnection(StorageProvider.Postgres, Db.ConnectionString), watch, TimeProvider.System, NullLogger<PostgresDefinitionsListener>.Instance);
        await listener.StartAsync(CancellationToken.None);
        var running = new Running(listener);
        await UntilAsync(() => watch.Following, "the listener did not start listening");
        return running;
    }

    private async Task ChangeElsewhereAsync(long workflowId)
    {
        var options = new DbContextOptionsBuilder<PostgresActionflowDbContext>();
        PostgresActionflowDbContext.Configure(options, Db.ConnectionString);
        await using var db = new PostgresActionflowDbContext(options.Options);
        (await db.Workflows.SingleAsync(w => w.Id == workflowId)).Name = "changed elsewhere";
        await db.SaveChangesAsync();
    }

    private static async Task UntilAsync(Func<bool> condition, string failure)
    {
        using var give = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (give.IsCancellationRequested)
            {
                Assert.Fail(failure);
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    private sealed class Running(PostgresDefinitionsListener listener) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await listener.StopAsync(CancellationToken.None);
            listener.Dispose();
        }
    }
}
