using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Http;

// Method, host and status only: URLs may carry tokens in their query; headers and bodies are never logged.
internal static partial class HttpRequestLog
{
    [LoggerMessage(EventId = 3110, Level = LogLevel.Information, Message = "http_request of action {ActionId} run {RunId}: {Method} {Host} -> {Outcome} {StatusCode}")]
    public static partial void Sent(ILogger logger, long actionId, long runId, string method, string host, Actionflow.Actions.Outbound.OutboundOutcome outcome, int statusCode);
}
