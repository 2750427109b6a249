using Actionflow.Core.Abstractions;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>Row locks of the hot writes on PostgreSQL: who waits for whom.</summary>
public sealed class PostgresLockTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    [Fact]
    public async Task RenewLeasesAsync_RunLockedByACompletionInProgress_RenewsTheOthersWithoutWaitingForIt()
    {
        var lease = new StepLease("w1", T0, T0.AddMinutes(1));
        var accepted = await Pipeline.AcceptEventAsync(NewEvent(7), [.. Steps(11, 12).Select(s => s with { HeldBy = lease })], default);
        var runs = accepted.HeldRuns.OrderBy(r => r.Id).ToList();

        // Another transaction holds the second run's row, as a completion batch ending it does until it commits.
        await using var locker = new NpgsqlConnection(Db.ConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand($"UPDATE action_runs SET output = '{{}}'::jsonb WHERE id = {runs[1].Id}", locker, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var renewal = Pipeline.RenewLeasesAsync([runs[0].Id, runs[1].Id], "w1", T0.AddMinutes(10), default);
        var first = await Task.WhenAny(renewal, Task.Delay(TimeSpan.FromSeconds(10)));
        await transaction.RollbackAsync();
        await renewal;

        Assert.True(first == renewal, "the renewal waited for the locked run");
        await using var db = await Db.ContextAsync();
        var leases = await db.ActionRuns.AsNoTracking().OrderBy(r => r.Id).Select(r => r.LeaseUntil).ToListAsync();
        Assert.Equal([T0.AddMinutes(10), T0.AddMinutes(1)], leases);
    }
}
