using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Actionflow.Storage;

public sealed class PostgresActionflowDbContext(DbContextOptions<PostgresActionflowDbContext> options) : ActionflowDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.Postgres;

    protected override string JsonColumnType => "jsonb";

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseNpgsql(connectionString).ConfigureWarnings(ActionflowDbContext.StartWarnings);
}

/// <summary>For <c>dotnet ef migrations add ... --context PostgresActionflowDbContext</c>; never connects.</summary>
public sealed class PostgresActionflowDbContextDesignTimeFactory : IDesignTimeDbContextFactory<PostgresActionflowDbContext>
{
    public PostgresActionflowDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<PostgresActionflowDbContext>();
        PostgresActionflowDbContext.Configure(builder, "Host=localhost;Database=actionflow;Username=actionflow");
        return new PostgresActionflowDbContext(builder.Options);
    }
}
