using Actionflow.Storage;

namespace Actionflow.Host;

internal static class StartupChecks
{
    public static void Validate(IServiceProvider services, ActionflowOptions settings)
    {
        var embeddedBroker = !settings.UsesBroker;
        var provider = services.GetRequiredService<StorageProvider>();
        if (embeddedBroker && provider != StorageProvider.Sqlite)
        {
            throw new InvalidOperationException(
                "Actionflow__Broker is empty, so the embedded transport would run, but it needs the embedded SQLite database and " +
                "Actionflow__Database points at PostgreSQL. Set Actionflow__Broker to an amqp:// URI (competing workers need RabbitMQ), " +
                "or clear Actionflow__Database to run embedded.");
        }

        if (!embeddedBroker && !Uri.TryCreate(settings.Broker, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException($"Actionflow__Broker must be an amqp:// or amqps:// URI, e.g. amqp://user:password@127.0.0.1:5672/; got something else.");
        }
    }
}

/// <summary>The embedded database and its queue belong to one process: a second one on the same folder would steal its messages.</summary>
internal sealed class EmbeddedLock : IDisposable
{
    private readonly FileStream _stream;

    private EmbeddedLock(FileStream stream) => _stream = stream;

    public static EmbeddedLock Acquire(string dataDirectory, string? database)
    {
        var directory = string.IsNullOrWhiteSpace(database) ? dataDirectory : Path.GetDirectoryName(Path.GetFullPath(SqlitePath(database))) ?? dataDirectory;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "actionflow.lock");
        try
        {
            return new EmbeddedLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another Actionflow process is running on '{directory}' with the embedded transport. Stop it, or use RabbitMQ and PostgreSQL (Actionflow__Broker, Actionflow__Database) to run several workers.", ex);
        }
    }

    public void Dispose() => _stream.Dispose();

    private static string SqlitePath(string connectionString)
    {
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length == 2 && (kv[0].Equals("Data Source", StringComparison.OrdinalIgnoreCase) || kv[0].Equals("DataSource", StringComparison.OrdinalIgnoreCase)))
            {
                return kv[1];
            }
        }

        return connectionString;
    }
}
