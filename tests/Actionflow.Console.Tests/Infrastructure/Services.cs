using System.Diagnostics;
using Npgsql;

namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>A database and a virtual host of their own on the RabbitMQ and PostgreSQL that .ci/run started.</summary>
public sealed class Services : IAsyncDisposable
{
    private Services(string database, string broker)
    {
        Database = database;
        Broker = broker;
    }

    public string Database { get; }

    public string Broker { get; }

    public static async Task<Services> CreateAsync()
    {
        var postgres = Required("ACTIONFLOW_TEST_POSTGRES");
        var rabbit = Required("ACTIONFLOW_TEST_RABBITMQ");
        var name = "af_console_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(postgres))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        var vhost = name.Replace('_', '-');
        await RunAsync("rabbitmqctl", "-q", "add_vhost", vhost);
        await RunAsync("rabbitmqctl", "-q", "set_permissions", "-p", vhost, Uri.UnescapeDataString(new Uri(rabbit).UserInfo.Split(':')[0]), ".*", ".*", ".*");
        return new Services(new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString, new UriBuilder(rabbit) { Path = "/" + vhost }.Uri.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using (var admin = new NpgsqlConnection(Required("ACTIONFLOW_TEST_POSTGRES")))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {new NpgsqlConnectionStringBuilder(Database).Database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }

        await RunAsync("rabbitmqctl", "-q", "delete_vhost", new Uri(Broker).AbsolutePath.TrimStart('/'));
    }

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{name} is not set: run scripts/start-services.sh (./test.sh and .ci/run do).");

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        }
    }
}
