using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Webhook;

// Host and status only: URLs may carry tokens in their query, headers and secrets are never logged. Run errors and
// outputs carry the URL as SafeUrl shows it.
internal static partial class WebhookLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Webhook of action {ActionId} run {RunId} delivered to {Host}: HTTP {StatusCode} in {ElapsedMs} ms")]
    public static partial void Delivered(ILogger logger, long actionId, long runId, string host, int statusCode, long elapsedMs);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Webhook of action {ActionId} run {RunId} rejected by {Host}: HTTP {StatusCode}")]
    public static partial void Rejected(ILogger logger, long actionId, long runId, string host, int statusCode);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Webhook of action {ActionId} run {RunId} to {Host} timed out after {TimeoutSeconds} s")]
    public static partial void TimedOut(ILogger logger, long actionId, long runId, string host, int timeoutSeconds);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Webhook of action {ActionId} run {RunId} could not reach {Host}")]
    public static partial void Unreachable(ILogger logger, long actionId, long runId, string host, Exception exception);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Webhook of action {ActionId} run {RunId} refused: {Host} resolves to {Block}, which webhooks may not reach")]
    public static partial void Refused(ILogger logger, long actionId, long runId, string host, string block);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Webhook of action {ActionId} run {RunId} not sent: its config is invalid")]
    public static partial void InvalidConfig(ILogger logger, long actionId, long runId);
}
