using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Actionflow.Storage;

public sealed class SqliteActionflowDbContext(DbContextOptions<SqliteActionflowDbContext> options) : ActionflowDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.Sqlite;

    protected override string JsonColumnType => "TEXT";

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string connectionString, SqliteSynchronous synchronous = SqliteSynchronous.Normal) =>
        builder.UseSqlite(connectionString).ConfigureWarnings(ActionflowDbContext.StartWarnings).AddInterceptors(SqlitePragmaInterceptor.For(synchronous));
}

/// <summary>For <c>dotnet ef migrations add ... --context SqliteActionflowDbContext</c>; never connects.</summary>
public sealed class SqliteActionflowDbContextDesignTimeFactory : IDesignTimeDbContextFactory<SqliteActionflowDbContext>
{
    public SqliteActionflowDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<SqliteActionflowDbContext>();
        SqliteActionflowDbContext.Configure(builder, "Data Source=actionflow-design.db");
        return new SqliteActionflowDbContext(builder.Options);
    }
}
