using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Email;

// Server, recipient count and outcome only: addresses, subjects and bodies are the workflow's data, never logged.
internal static partial class EmailLog
{
    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "email of action {ActionId} run {RunId} accepted by {Host}:{Port} for {Recipients} recipient(s)")]
    public static partial void Sent(ILogger logger, long actionId, long runId, string host, int port, int recipients);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning, Message = "email of action {ActionId} run {RunId} not sent through {Host}:{Port}: {Outcome}")]
    public static partial void NotSent(ILogger logger, long actionId, long runId, string host, int port, string outcome);
}
