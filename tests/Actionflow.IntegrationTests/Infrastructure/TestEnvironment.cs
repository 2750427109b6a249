using System.Diagnostics;
using Npgsql;

namespace Actionflow.IntegrationTests.Infrastructure;

/// <summary>The RabbitMQ and PostgreSQL that .ci/run (scripts/start-services.sh) started, and per-test isolation on them.</summary>
public static class TestEnvironment
{
    public static string Postgres => Required("ACTIONFLOW_TEST_POSTGRES");

    public static string RabbitMq => Required("ACTIONFLOW_TEST_RABBITMQ");

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string HostAssembly => BuildOutput("src/Actionflow.Host", "actionflow.dll");

    public static string TestPluginAssembly => BuildOutput("tests/Actionflow.TestPlugin", "Actionflow.TestPlugin.dll");

    /// <summary>A new, empty database; returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "af_test_" + Guid.NewGuid().ToString("N")[..12];
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
        // WITH (FORCE) may not end an autovacuum worker (a superuser's process) busy on the database: it fails with
        // 42501 until the worker is done (as the benchmarks found); the drop is tried again until it succeeds.
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

    /// <summary>A new virtual host on the broker, with permissions for the test user; returns its amqp URI.</summary>
    public static async Task<string> CreateVirtualHostAsync()
    {
        var vhost = "af-test-" + Guid.NewGuid().ToString("N")[..12];
        var user = new Uri(RabbitMq).UserInfo.Split(':')[0];
        await RunAsync("rabbitmqctl", "-q", "add_vhost", vhost);
        await RunAsync("rabbitmqctl", "-q", "set_permissions", "-p", vhost, Uri.UnescapeDataString(user), ".*", ".*", ".*");
        var builder = new UriBuilder(RabbitMq) { Path = "/" + vhost };
        return builder.Uri.ToString();
    }

    public static Task DeleteVirtualHostAsync(string amqpUri) =>
        RunAsync("rabbitmqctl", "-q", "delete_vhost", Uri.UnescapeDataString(new Uri(amqpUri).AbsolutePath.TrimStart('/')));

    /// <summary>True when every queue of the virtual host of <paramref name="amqpUri"/> holds no message, ready or unacknowledged.</summary>
    public static async Task<bool> QueuesEmptyAsync(string amqpUri)
    {
        var vhost = Uri.UnescapeDataString(new Uri(amqpUri).AbsolutePath.TrimStart('/'));
        var listed = await RunForOutputAsync("rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers", "messages_ready", "messages_unacknowledged");
        return listed.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)
            .All(count => long.TryParse(count, System.Globalization.CultureInfo.InvariantCulture, out var n) && n == 0);
    }

    /// <summary>Stops and starts the broker application: every client connection is dropped.</summary>
    public static Task RestartBrokerAsync() => RunAsync("bash", Path.Combine(RepositoryRoot, "scripts", "rabbitmq-restart.sh"), "--mode", "app");

    public static async Task RunAsync(string file, params string[] args) => await RunForOutputAsync(file, args);

    /// <summary>
    /// Runs a command that starts a daemon (PostgreSQL), with every file descriptor above stderr closed first: the suite
    /// runs under <c>flock /tmp/af-services.lock</c>, and a daemon that inherited the lock's descriptor would hold the
    /// lock for as long as it lives, so that no other test run on the machine could ever take it.
    /// </summary>
    public static Task StartDaemonAsync(string file, params string[] args) =>
        RunAsync("bash", ["-c", """for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null; fi; done; exec "$@" """, "start-daemon", file, .. args]);

    public static async Task<string> RunForOutputAsync(string file, params string[] args)
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

        return await stdout;
    }

    private static string BuildOutput(string project, string file)
    {
        var path = Path.Combine(RepositoryRoot, project, "bin", Configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: build the solution first (./test.sh does).");
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set. Integration tests need the real RabbitMQ and PostgreSQL: run ./test.sh (it starts them) or `eval \"$(scripts/start-services.sh --env)\"` first.");

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
