using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.HuggingFace;

// Model, host and outcome only: the text classified and the token are never logged.
internal static partial class HuggingFaceLog
{
    [LoggerMessage(EventId = 3130, Level = LogLevel.Information, Message = "hf_zero_shot of action {ActionId} run {RunId}: model {Model} at {Host} -> {Outcome} {StatusCode}")]
    public static partial void Called(ILogger logger, long actionId, long runId, string model, string host, Actionflow.Actions.Outbound.OutboundOutcome outcome, int statusCode);
}
