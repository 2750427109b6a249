using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Actionflow.Storage;

/// <summary>The provider and connection string that <see cref="StorageOptions"/> stand for, checked.</summary>
public sealed partial record StorageConnection(StorageProvider Provider, string ConnectionString)
{
    /// <summary>The configuration key (environment variable form) of <see cref="StorageOptions.ConnectionString"/>.</summary>
    public const string Setting = "Actionflow__Database";

    public const string EmbeddedFileName = "actionflow.db";

    /// <summary>Where the data lives, without credentials (for start-up logs).</summary>
    public string Description => Provider == StorageProvider.Sqlite
        ? $"SQLite {new SqliteConnectionStringBuilder(ConnectionString).DataSource}"
        : Postgres(ConnectionString);

    /// <summary>Never prints the connection string: it may hold a password.</summary>
    public override string ToString() => Description;

    /// <summary>Decides the provider and validates the string; throws <see cref="InvalidOperationException"/> saying what is wrong.</summary>
    public static StorageConnection Resolve(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.ConnectionString?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            var directory = string.IsNullOrWhiteSpace(options.DataDirectory) ? "data" : options.DataDirectory;
            return Sqlite(new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory, EmbeddedFileName) });
        }

        // A bare path ending in .db is a SQLite file; key=value strings are SQLite only with a Data Source (so that
        // "Host=pg.example.db" stays PostgreSQL).
        if (!value.Contains('=', StringComparison.Ordinal) && value.EndsWith(".db", StringComparison.OrdinalIgnoreCase))
        {
            return Sqlite(new SqliteConnectionStringBuilder { DataSource = value });
        }

        if (SqliteKeyword().IsMatch(value))
        {
            try
            {
                return Sqlite(new SqliteConnectionStringBuilder(value));
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
            {
                throw Invalid($"it looks like a SQLite connection string but does not parse ({ex.Message})");
            }
        }

        NpgsqlConnectionStringBuilder postgres;
        try
        {
            postgres = new NpgsqlConnectionStringBuilder(value);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw Invalid($"it is neither a SQLite file (Data Source=... or a path ending in .db) nor a valid PostgreSQL connection string ({ex.Message})");
        }

        if (string.IsNullOrWhiteSpace(postgres.Host))
        {
            throw Invalid("the PostgreSQL connection string names no Host");
        }

        // The pipeline repeats a handful of statements per run; prepared, PostgreSQL plans them once
        // (measured: about 30 % less PostgreSQL CPU per event). Settings the user gave are kept.
        if (!HasKey(value, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            postgres.MaxAutoPrepare = 64;
            postgres.AutoPrepareMinUsages = HasKey(value, "Auto Prepare Min Usages", "AutoPrepareMinUsages") ? postgres.AutoPrepareMinUsages : 2;
        }

        // Npgsql resets a pooled connection's session state (CLOSE ALL, UNLISTEN *, RESET ALL, DISCARD TEMP and SEQUENCES,
        // advisory unlocks) before its next use, on every open: several opens per event. Actionflow keeps no session
        // state (its advisory locks are transaction-scoped, its settings SET LOCAL), so the reset only costs. Settings the
        // user gave are kept.
        if (!HasKey(value, "No Reset On Close", "NoResetOnClose"))
        {
            postgres.NoResetOnClose = true;
        }

        // TLS to a server on this same machine protects nothing (loopback traffic never leaves the kernel) and cost
        // about a third of both sides' CPU per event (measured). Npgsql's default (Prefer) negotiates it whenever the
        // server has ssl = on, as Debian's does; on loopback, unless the user chose a mode, it is off.
        if (!HasKey(value, "SSL Mode", "SslMode") && IsLoopback(postgres.Host))
        {
            postgres.SslMode = SslMode.Disable;
        }

        return new StorageConnection(StorageProvider.Postgres, postgres.ConnectionString);
    }

    private static bool IsLoopback(string hosts) =>
        hosts.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).All(host =>
        {
            // "name", "name:port", an IPv6 address, or "[IPv6]:port".
            var name = System.Net.IPAddress.TryParse(host, out _) ? host
                : host.StartsWith('[') && host.Contains(']', StringComparison.Ordinal) ? host[1..host.IndexOf(']', StringComparison.Ordinal)]
                : host.Split(':')[0];
            return string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)
                || (System.Net.IPAddress.TryParse(name, out var address) && System.Net.IPAddress.IsLoopback(address));
        });

    private static string Postgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}";
    }

    private static StorageConnection Sqlite(SqliteConnectionStringBuilder builder)
    {
        var dataSource = builder.DataSource;
        if (string.IsNullOrWhiteSpace(dataSource))
        {
            throw Invalid("the SQLite connection string names no Data Source");
        }

        if (builder.Mode != SqliteOpenMode.Memory && dataSource != ":memory:")
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        return new StorageConnection(StorageProvider.Sqlite, builder.ToString());
    }

    private static InvalidOperationException Invalid(string reason) =>
        new($"The database connection string (setting {Setting}) is not usable: {reason}. Leave it empty for the embedded " +
            "SQLite database in the data directory, give 'Data Source=/path/actionflow.db' for another SQLite file, or a " +
            "PostgreSQL connection string such as 'Host=db;Port=5432;Database=actionflow;Username=actionflow;Password=...'.");

    [GeneratedRegex(@"(^|;)\s*(data\s*source|filename)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SqliteKeyword();

    private static bool HasKey(string connectionString, params string[] names) =>
        connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2)[0].Trim())
            .Any(key => names.Any(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase)));
}
