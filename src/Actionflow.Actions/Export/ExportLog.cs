using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Export;

// Host, ids and status only: credentials and URLs with queries are never logged.
internal static partial class ExportLog
{
    [LoggerMessage(EventId = 3150, Level = LogLevel.Information, Message = "export of action {ActionId} run {RunId}: {Host} started export {ExportId}")]
    public static partial void Started(ILogger logger, long actionId, long runId, string host, long exportId);

    [LoggerMessage(EventId = 3151, Level = LogLevel.Information, Message = "export of action {ActionId} run {RunId}: export {ExportId} ended {Status}")]
    public static partial void Ended(ILogger logger, long actionId, long runId, long exportId, string status);

    [LoggerMessage(EventId = 3152, Level = LogLevel.Warning, Message = "export of action {ActionId} run {RunId}: {Host} did not start the export: {Outcome} {StatusCode}")]
    public static partial void NotStarted(ILogger logger, long actionId, long runId, string host, Actionflow.Actions.Outbound.OutboundOutcome outcome, int statusCode);
}
