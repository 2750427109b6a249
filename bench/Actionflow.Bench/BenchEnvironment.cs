using System.Diagnostics;
using Npgsql;

namespace Actionflow.Bench;

/// <summary>The RabbitMQ and PostgreSQL that bench/run connected to, and per-scenario isolation on them.</summary>
internal static class BenchEnvironment
{
    public static string Postgres => Required("ACTIONFLOW_TEST_POSTGRES");

    public static string RabbitMq => Required("ACTIONFLOW_TEST_RABBITMQ");

    public static string RepositoryRoot { get; } = FindRoot();

    public static string HostAssembly
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("ACTIONFLOW_BENCH_HOST")
                ?? Path.Combine(RepositoryRoot, "src", "Actionflow.Host", "bin", "Release", "net10.0", "actionflow.dll");
            return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: bench/run builds it (dotnet build -c Release).");
        }
    }

    public static async Task<string> CreateDatabaseAsync(string scenario)
    {
        var name = "af_bench_" + scenario.Replace('-', '_') + "_" + Guid.NewGuid().ToString("N")[..8];
        await using (var admin = new NpgsqlConnection(Postgres))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(Postgres) { Database = name }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(Postgres);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
        // WITH (FORCE) may not end an autovacuum worker (a superuser's process) that is busy on the database: wait for it.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 30)
            {
                await Task.Delay(1000);
            }
        }
    }

    /// <summary>A new virtual host with permissions for the configured user; returns its amqp URI.</summary>
    public static async Task<string> CreateVirtualHostAsync(string scenario)
    {
        var vhost = "af-bench-" + scenario + "-" + Guid.NewGuid().ToString("N")[..8];
        var user = Uri.UnescapeDataString(new Uri(RabbitMq).UserInfo.Split(':')[0]);
        await RunAsync("rabbitmqctl", "-q", "add_vhost", vhost);
        await RunAsync("rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*");
        return new UriBuilder(RabbitMq) { Path = "/" + vhost }.Uri.ToString();
    }

    public static Task DeleteVirtualHostAsync(string amqpUri) =>
        RunAsync("rabbitmqctl", "-q", "delete_vhost", Uri.UnescapeDataString(new Uri(amqpUri).AbsolutePath.TrimStart('/')));

    public static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the benchmark through bench/run (it starts RabbitMQ and PostgreSQL).");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Actionflow.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Actionflow.slnx not found above " + AppContext.BaseDirectory);
    }
}
