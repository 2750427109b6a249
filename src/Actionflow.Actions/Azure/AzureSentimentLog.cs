using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Azure;

// Host and outcome only: the text and the key are never logged.
internal static partial class AzureSentimentLog
{
    [LoggerMessage(EventId = 3140, Level = LogLevel.Information, Message = "azure_sentiment of action {ActionId} run {RunId}: {Host} -> {Outcome} {StatusCode}")]
    public static partial void Called(ILogger logger, long actionId, long runId, string host, Actionflow.Actions.Outbound.OutboundOutcome outcome, int statusCode);
}
