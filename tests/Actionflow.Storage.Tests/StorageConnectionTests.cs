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

    [Theory]
    [InlineData("Host=db;Database=d", true)]
    [InlineData("Host=db;No Reset On Close=false;Database=d", false)]
    [InlineData("Host=db;NoResetOnClose=false;Database=d", false)]
    public void Resolve_Postgres_SkipsTheSessionResetUnlessTheUserAskedForIt(string connectionString, bool expected)
    {
        var connection = StorageConnection.Resolve(new StorageOptions { ConnectionString = connectionString });

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(connection.ConnectionString).NoResetOnClose);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Database=d", SslMode.Disable)]
    [InlineData("Host=localhost;Port=5433;Database=d", SslMode.Disable)]
    [InlineData("Host=::1;Database=d", SslMode.Disable)]
    [InlineData("Host=127.0.0.1,localhost;Database=d", SslMode.Disable)]
    [InlineData("Host=db.internal;Database=d", SslMode.Prefer)]
    [InlineData("Host=127.0.0.1,10.0.0.5;Database=d", SslMode.Prefer)]
    [InlineData("Host=127.0.0.1;SSL Mode=Require;Database=d", SslMode.Require)]
    [InlineData("Host=localhost;SslMode=Prefer;Database=d", SslMode.Prefer)]
    public void Resolve_Postgres_TurnsTlsOffOnlyOnLoopbackWhenTheUserChoseNoMode(string connectionString, SslMode expected)
    {
        var connection = StorageConnection.Resolve(new StorageOptions { ConnectionString = connectionString });

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(connection.ConnectionString).SslMode);
    }

    [Fact]
    public void Resolve_PostgresWithAutoPrepareSet_KeepsTheUsersChoice()
    {
        var connection = StorageConnection.Resolve(new StorageOptions { ConnectionString = "Host=db;Max Auto Prepare=0;Database=d" });

        Assert.Equal(0, new NpgsqlConnectionStringBuilder(connection.ConnectionString).MaxAutoPrepare);
    }
}
