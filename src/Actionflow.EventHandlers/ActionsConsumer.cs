using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;

namespace Actionflow.EventHandlers;

/// <summary>Consumes <c>actions.triggers</c>: one message per (event, action), run by the <see cref="TriggerRunner"/>.</summary>
public sealed partial class ActionsConsumer(TriggerRunner runner, ILogger<ActionsConsumer> logger) : IMessageHandler
{
    public string Queue => QueueNames.ActionTriggers;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> HandleAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var trigger = TriggerMessage.TryParse(message.Body.Span, out var error);
        if (trigger is null)
        {
            LogRejected(logger, message.Body.Length, error!);
            return Verdict.DeadLetter(error!);
        }

        return await runner.RunAsync(trigger, cancellationToken);
    }

    [LoggerMessage(2101, LogLevel.Warning, "Rejected a trigger message of {Bytes} bytes: {Reason}")]
    private static partial void LogRejected(ILogger logger, int bytes, string reason);
}
