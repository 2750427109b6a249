using Microsoft.Extensions.Logging;

namespace Actionflow.Messaging;

/// <summary>Messaging log events: 4000-4019 connection, 4020-4029 publishing, 4030-4059 consuming, 4060-4069 embedded. Never bodies.</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Connected to RabbitMQ at {Broker} as {ConnectionName} (attempt {Attempt})")]
    public static partial void Connected(ILogger logger, string broker, string connectionName, int attempt);

    [LoggerMessage(4001, LogLevel.Warning, "RabbitMQ at {Broker} not reachable (attempt {Attempt}): {Error}; retrying in {DelayMs} ms")]
    public static partial void ConnectRetry(ILogger logger, string broker, int attempt, long delayMs, string error);

    [LoggerMessage(4002, LogLevel.Warning, "Connection to RabbitMQ lost ({ReplyCode} {ReplyText}); recovering")]
    public static partial void ConnectionLost(ILogger logger, ushort replyCode, string replyText);

    [LoggerMessage(4003, LogLevel.Information, "Connection to RabbitMQ at {Broker} recovered")]
    public static partial void ConnectionRecovered(ILogger logger, string broker);

    [LoggerMessage(4004, LogLevel.Warning, "RabbitMQ connection recovery attempt failed: {Error}")]
    public static partial void RecoveryAttemptFailed(ILogger logger, string error);

    [LoggerMessage(4005, LogLevel.Information, "RabbitMQ topology declared: events {EventsQueue}, actions {ActionsQueue}, dead letters {DeadLetterQueue} (Diffgram-compatible: {DiffgramCompatible})")]
    public static partial void TopologyDeclared(ILogger logger, string eventsQueue, string actionsQueue, string deadLetterQueue, bool diffgramCompatible);

    [LoggerMessage(4006, LogLevel.Error, "Declaring the RabbitMQ topology again after recovery failed")]
    public static partial void RedeclareFailed(ILogger logger, Exception exception);

    [LoggerMessage(4007, LogLevel.Warning, "RabbitMQ blocked the connection: {Reason}")]
    public static partial void ConnectionBlocked(ILogger logger, string reason);

    [LoggerMessage(4008, LogLevel.Information, "RabbitMQ unblocked the connection")]
    public static partial void ConnectionUnblocked(ILogger logger);

    [LoggerMessage(4009, LogLevel.Error, "RabbitMQ client callback failed")]
    public static partial void CallbackException(ILogger logger, Exception exception);

    [LoggerMessage(4010, LogLevel.Warning, "Closing the RabbitMQ connection failed")]
    public static partial void ConnectionCloseFailed(ILogger logger, Exception exception);

    [LoggerMessage(4020, LogLevel.Debug, "Publisher channel discarded: {Reason}")]
    public static partial void PublisherChannelDiscarded(ILogger logger, string reason);

    [LoggerMessage(4021, LogLevel.Debug, "Relayed {Count} outbox messages to RabbitMQ")]
    public static partial void Relayed(ILogger logger, int count);

    [LoggerMessage(4022, LogLevel.Warning, "Outbox relay failed; retrying in {DelayMs} ms")]
    public static partial void RelayFailed(ILogger logger, long delayMs, Exception exception);

    [LoggerMessage(4023, LogLevel.Warning, "No IOutboxStore is registered: the outbox relay does not run")]
    public static partial void RelayWithoutStore(ILogger logger);

    [LoggerMessage(4030, LogLevel.Information, "Consuming {Queue} from {PhysicalQueue}: concurrency {Concurrency}, prefetch {Prefetch}")]
    public static partial void Consuming(ILogger logger, string queue, string physicalQueue, int concurrency, int prefetch);

    [LoggerMessage(4031, LogLevel.Warning, "Could not start consuming {Queue} from {PhysicalQueue}; retrying in {DelayMs} ms")]
    public static partial void ConsumerOpenFailed(ILogger logger, string queue, string physicalQueue, long delayMs, Exception exception);

    [LoggerMessage(4032, LogLevel.Warning, "RabbitMQ closed the consumer channel of {Queue} ({ReplyCode} {ReplyText}); reopening it")]
    public static partial void ConsumerChannelClosed(ILogger logger, string queue, ushort replyCode, string replyText);

    [LoggerMessage(4033, LogLevel.Warning, "Handler of {Queue} failed on delivery {DeliveryCount} of message {MessageId}; delivering it again in {DelayMs} ms")]
    public static partial void HandlerFailed(ILogger logger, string queue, string messageId, int deliveryCount, long delayMs, Exception exception);

    [LoggerMessage(4034, LogLevel.Information, "Message {MessageId} of {Queue} to be retried in {DelayMs} ms: {Reason}")]
    public static partial void RetryRequested(ILogger logger, string queue, string messageId, long delayMs, string reason);

    [LoggerMessage(4035, LogLevel.Warning, "Message {MessageId} of {Queue} dead-lettered after {Deliveries} deliveries: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string queue, string messageId, int deliveries, string reason);

    [LoggerMessage(4036, LogLevel.Error, "Could not dead-letter message {MessageId} of {Queue}; keeping it, next attempt in {DelayMs} ms")]
    public static partial void DeadLetterFailed(ILogger logger, string queue, string messageId, long delayMs);

    [LoggerMessage(4044, LogLevel.Error, "Publishing message {MessageId} of {Queue} to the dead-letter exchange failed")]
    public static partial void DeadLetterPublishFailed(ILogger logger, string queue, string messageId, Exception exception);

    [LoggerMessage(4037, LogLevel.Warning, "Could not {Operation} message {MessageId} of {Queue} ({Error}); it will be delivered again")]
    public static partial void SettleFailed(ILogger logger, string queue, string messageId, string operation, string error);

    [LoggerMessage(4038, LogLevel.Information, "Message {MessageId} of {Queue} returned to the queue: its handler was cancelled by the shutdown")]
    public static partial void ReturnedOnShutdown(ILogger logger, string queue, string messageId);

    [LoggerMessage(4039, LogLevel.Error, "Unexpected error while consuming message {MessageId} of {Queue}")]
    public static partial void UnexpectedConsumerError(ILogger logger, string queue, string messageId, Exception exception);

    [LoggerMessage(4040, LogLevel.Information, "Stopping consumers: waiting up to {GraceMs} ms for {InFlight} running handlers")]
    public static partial void Draining(ILogger logger, int inFlight, long graceMs);

    [LoggerMessage(4041, LogLevel.Warning, "Shutdown grace period over: cancelling {InFlight} running handlers, their messages go back to the queue")]
    public static partial void GracePeriodOver(ILogger logger, int inFlight);

    [LoggerMessage(4042, LogLevel.Warning, "Cancelling the consumer of {Queue} failed: {Error}")]
    public static partial void ConsumerCancelFailed(ILogger logger, string queue, string error);

    [LoggerMessage(4043, LogLevel.Warning, "RabbitMQ cancelled the consumer of {Queue} ({PhysicalQueue} deleted?); declaring the topology again and resubscribing")]
    public static partial void ConsumerCancelledByBroker(ILogger logger, string queue, string physicalQueue);

    [LoggerMessage(4045, LogLevel.Warning, "Handler of {Queue} failed after its message {MessageId} was consumed with the work it recorded; nothing to redeliver")]
    public static partial void FailedAfterConsumed(ILogger logger, string queue, string messageId, Exception exception);

    [LoggerMessage(4060, LogLevel.Information, "Embedded transport consuming for {HandlerCount} handlers, concurrency {Concurrency} each")]
    public static partial void EmbeddedConsuming(ILogger logger, int handlerCount, int concurrency);

    [LoggerMessage(4061, LogLevel.Warning, "Embedded queue store failed to {Operation}; retrying in {DelayMs} ms")]
    public static partial void EmbeddedStoreFailed(ILogger logger, string operation, long delayMs, Exception exception);
}
