using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;

namespace Actionflow.Messaging;

/// <summary>What a transport can do with one delivery; <see cref="Settlement"/> decides which.</summary>
internal interface IDelivery
{
    /// <summary>For logs: the broker's message id, or the outbox row.</summary>
    string MessageId { get; }

    /// <summary>Done: remove the message.</summary>
    Task AckAsync();

    /// <summary>Back to its queue, delivered again once <paramref name="after"/> has passed (zero: at once).</summary>
    Task RedeliverAsync(TimeSpan after);

    /// <summary>Parks the message in the dead letters with the reason; false when that failed and the message is still here.</summary>
    Task<bool> DeadLetterAsync(string reason, string? exceptionType, IReadOnlyDictionary<string, string>? headers);
}

/// <summary>
/// The one settlement of a delivered message, for RabbitMQ and the embedded transport alike: runs the handler and turns
/// its <see cref="Verdict"/> into an ack, a delayed redelivery or a dead letter. A handler that throws (an infrastructure
/// failure: the database away) gets the transport's own retry: redelivery with backoff, up to
/// <see cref="MessagingOptions.DeliveryLimit"/> deliveries, then a dead letter with the last error. A step's own retry
/// policy is the engine's business and never reaches here as an exception.
/// </summary>
internal sealed class Settlement(MessagingOptions options, ConsumerLifetime lifetime, ILogger logger)
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask HandleAsync<TDelivery>(IMessageHandler handler, IncomingMessage message, TDelivery delivery)
        where TDelivery : IDelivery
    {
        if (lifetime.Stopping)
        {
            await delivery.RedeliverAsync(TimeSpan.Zero);
            return;
        }

        var deliveries = message.DeliveryCount;
        var lastDelivery = deliveries > options.DeliveryLimit;
        Verdict verdict;
        try
        {
            verdict = await handler.HandleAsync(message, lifetime.HandlerToken);
        }
        catch (OperationCanceledException) when (lifetime.HandlerToken.IsCancellationRequested && !Consumed(message))
        {
            Log.ReturnedOnShutdown(logger, message.Queue, delivery.MessageId);
            await delivery.RedeliverAsync(TimeSpan.Zero);
            return;
        }
        catch (Exception ex) when (Consumed(message))
        {
            // The work the message asked for is durable and the message gone: what failed after it is not the message's
            // (held runs come back through their leases), and there is nothing to redeliver or dead-letter.
            Log.FailedAfterConsumed(logger, message.Queue, delivery.MessageId, ex);
            return;
        }
        catch (Exception ex)
        {
            if (!lastDelivery)
            {
                var backoff = options.BackoffFor(deliveries);
                Log.HandlerFailed(logger, message.Queue, delivery.MessageId, deliveries, (long)backoff.TotalMilliseconds, ex);
                await delivery.RedeliverAsync(backoff);
                return;
            }

            verdict = Verdict.DeadLetter($"handler failed on {deliveries} deliveries; last error: {ex.Message}", ex.GetType().FullName);
        }

        if (Consumed(message))
        {
            return;
        }

        switch (verdict.Kind)
        {
            case VerdictKind.Done:
                await delivery.AckAsync();
                break;
            case VerdictKind.RetryAfter when lastDelivery:
                await DeadLetterAsync(message, delivery, $"still not processable after {deliveries} deliveries: {verdict.Reason}", verdict.ExceptionType, verdict.Headers);
                break;
            case VerdictKind.RetryAfter:
                var delay = verdict.After < TimeSpan.Zero ? TimeSpan.Zero : verdict.After;
                Log.RetryRequested(logger, message.Queue, delivery.MessageId, (long)delay.TotalMilliseconds, verdict.Reason ?? "");
                await delivery.RedeliverAsync(delay);
                break;
            default:
                await DeadLetterAsync(message, delivery, verdict.Reason ?? "dead-lettered by the handler", verdict.ExceptionType, verdict.Headers);
                break;
        }
    }

    /// <summary>The handler's own transaction deleted the message (<see cref="IncomingMessage.Receipt"/>): nothing is left to settle.</summary>
    private static bool Consumed(IncomingMessage message) => message.Receipt is { Consumed: true };

    private async Task DeadLetterAsync<TDelivery>(
        IncomingMessage message, TDelivery delivery, string reason, string? exceptionType, IReadOnlyDictionary<string, string>? headers)
        where TDelivery : IDelivery
    {
        if (await delivery.DeadLetterAsync(reason, exceptionType, headers))
        {
            Log.DeadLettered(logger, message.Queue, delivery.MessageId, message.DeliveryCount, reason);
            ActionflowMetrics.DeadLettered(message.Queue);
            return;
        }

        // Not safely parked: keep the message and try again later.
        var backoff = options.BackoffFor(message.DeliveryCount);
        Log.DeadLetterFailed(logger, message.Queue, delivery.MessageId, (long)backoff.TotalMilliseconds);
        await delivery.RedeliverAsync(backoff);
    }
}
