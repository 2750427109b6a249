using Npgsql;

namespace Actionflow.Storage.Tests;

public sealed class StorageConnectionTests
{
    [Fact]
    public void Resolve_PostgresWithoutAutoPrepare_TurnsStatementPreparationOn()
    {
        var connection = StorageConnection.Resolve(new StorageOptions { ConnectionString = "Host=db;Username=u;Password=p;Database=d" });

        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        Assert.Equal(64, builder.MaxAutoPrepare);
        Assert.Equal(2, builder.AutoPrepareMinUsages);
        Assert.Equal("p", builder.Password);
    }

    [Fact]
    public void Resolve_PostgresWithAutoPrepareSet_KeepsTheUsersChoice()
    {
        var connection = StorageConnection.Resolve(new StorageOptions { ConnectionString = "Host=db;Max Auto Prepare=0;Database=d" });

        Assert.Equal(0, new NpgsqlConnectionStringBuilder(connection.ConnectionString).MaxAutoPrepare);
    }
}
