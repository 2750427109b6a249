using Microsoft.Extensions.Logging;

namespace Actionflow.Storage;

internal static partial class StorageLog
{
    [LoggerMessage(2001, LogLevel.Warning, "A batch of {Count} {Kind} failed as a whole; each is written alone now")]
    public static partial void BatchWrittenOneByOne(ILogger logger, int count, string kind, Exception exception);

    [LoggerMessage(2002, LogLevel.Information, "Listening for definitions changes on PostgreSQL: events are matched without reading the definitions version")]
    public static partial void DefinitionsListening(ILogger logger);

    [LoggerMessage(2003, LogLevel.Warning, "The connection listening for definitions changes was lost: every event reads the definitions version until it is back (retry in {RetryMs} ms)")]
    public static partial void DefinitionsListenLost(ILogger logger, double retryMs, Exception exception);

    [LoggerMessage(2090, LogLevel.Information, "Secrets at rest: {FieldsSealed} config fields stored in clear were sealed, {Resealed} values re-sealed under key {KeyId}")]
    public static partial void SecretsMaintained(ILogger logger, int fieldsSealed, int resealed, string keyId);
}
