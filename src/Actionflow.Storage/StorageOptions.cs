namespace Actionflow.Storage;

/// <summary>Where Actionflow keeps its state.</summary>
public sealed class StorageOptions
{
    /// <summary>
    /// Empty: the embedded SQLite database <c>{DataDirectory}/actionflow.db</c>. A string with <c>Data Source=</c>, or a
    /// bare path ending in <c>.db</c>: that SQLite database. Anything else: a PostgreSQL connection string.
    /// Bound from the setting <c>Actionflow__Database</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite only: <c>synchronous</c> (<c>Actionflow__Embedded__Synchronous</c>, <c>Normal</c> or <c>Full</c>); see <see cref="SqliteSynchronous"/>.</summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>Folder of the embedded SQLite database (created when missing).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The secrets key, base64 of 32 bytes (<c>Actionflow__SecretsKey</c>); empty on the embedded database: a key file beside it.</summary>
    public string? SecretsKey { get; set; }

    /// <summary>Keys being rotated away from, base64, comma-separated (<c>Actionflow__SecretsPreviousKeys</c>).</summary>
    public string? SecretsPreviousKeys { get; set; }
}
