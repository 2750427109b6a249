using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Secrets;

/// <summary>Where the keys of secret values come from: the settings, and for the embedded database a key file.</summary>
public sealed class SecretKeySettings
{
    /// <summary>The environment form of <see cref="Key"/>.</summary>
    public const string KeySetting = "Actionflow__SecretsKey";

    /// <summary>The environment form of <see cref="PreviousKeys"/>.</summary>
    public const string PreviousKeysSetting = "Actionflow__SecretsPreviousKeys";

    public const string KeyFileName = "actionflow.secrets.key";

    /// <summary>The current key, base64 of 32 bytes: every value is sealed under it.</summary>
    public string? Key { get; init; }

    /// <summary>Keys being rotated away from, base64, separated by commas: values sealed under them still open, and are re-sealed under <see cref="Key"/> at start.</summary>
    public string? PreviousKeys { get; init; }

    /// <summary>
    /// Where a key is generated at first need when <see cref="Key"/> is empty (the embedded SQLite database: beside it);
    /// null (PostgreSQL): no key is generated, and sealing needs <see cref="Key"/>.
    /// </summary>
    public string? KeyFile { get; init; }
}

/// <summary>
/// The current key and the previous ones. With no key configured on the embedded database, a key file is generated
/// beside it (0600) the first time a value is sealed or opened, so the default keeps working with no setup.
/// </summary>
public sealed partial class SecretKeyRing
{
    private readonly SecretKeySettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly IReadOnlyList<SecretKey> _previous;
    private SecretKey? _current;

    public SecretKeyRing(SecretKeySettings settings, ILogger<SecretKeyRing> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _logger = logger;
        if (!string.IsNullOrWhiteSpace(settings.Key))
        {
            _current = SecretKey.FromBase64(settings.Key, SecretKeySettings.KeySetting);
        }

        _previous = (settings.PreviousKeys ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(k => SecretKey.FromBase64(k, SecretKeySettings.PreviousKeysSetting))
            .ToList();
    }

    /// <summary>True when a key is configured or can be generated (the embedded database).</summary>
    public bool CanSeal => _current is not null || _settings.KeyFile is not null;

    /// <summary>Keys that still open values but are being rotated away from.</summary>
    public IReadOnlyList<SecretKey> Previous => _previous;

    /// <summary>The key values are sealed under; throws <see cref="SecretUnavailableException"/> when none is configured and none can be generated.</summary>
    public SecretKey Current
    {
        get
        {
            if (_current is { } key)
            {
                return key;
            }

            lock (_gate)
            {
                return _current ??= LoadOrCreateKeyFile();
            }
        }
    }

    public SecretKey? Find(string keyId)
    {
        if (_current is null && _settings.KeyFile is not null && File.Exists(_settings.KeyFile))
        {
            _ = Current;
        }

        return _current?.Id == keyId ? _current : _previous.FirstOrDefault(k => k.Id == keyId);
    }

    private SecretKey LoadOrCreateKeyFile()
    {
        var path = _settings.KeyFile
            ?? throw new SecretUnavailableException(
                $"secrets cannot be stored: {SecretKeySettings.KeySetting} is not set (a base64 256-bit key, e.g. from `openssl rand -base64 32`)");
        if (File.Exists(path))
        {
            return SecretKey.FromBase64(File.ReadAllText(path), path);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var text = SecretKey.NewBase64();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(path, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
            }

            KeyFileCreated(_logger, Path.GetFullPath(path));
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process of the same installation wrote it first: use theirs.
            text = File.ReadAllText(path);
        }

        return SecretKey.FromBase64(text, path);
    }

    [LoggerMessage(1090, LogLevel.Warning,
        "No Actionflow__SecretsKey is set: generated a secrets key at {Path} (owner read/write only). Back it up with the database: without it, stored secrets cannot be opened")]
    private static partial void KeyFileCreated(ILogger logger, string path);
}
