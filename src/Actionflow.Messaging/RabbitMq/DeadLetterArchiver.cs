using System.Globalization;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>
/// Moves messages from RabbitMQ's dead-letter queue into the database, with their reason, so they can be listed per
/// project and replayed through the API (the embedded transport writes them there directly).
/// </summary>
internal sealed class DeadLetterArchiver(IDeadLetterStore store, MessagingTopology topology, TimeProvider time) : IMessageHandler
{
    public string Queue => QueueNames.DeadLetters;

    public async ValueTask<Verdict> HandleAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = message.Headers;
        var physical = Header(headers, MessageHeaders.OriginalQueue) ?? Header(headers, "x-first-death-queue");
        var logical = topology.Routes.FirstOrDefault(r => r.Queue == physical)?.LogicalQueue ?? physical ?? "unknown";
        var reason = Header(headers, MessageHeaders.DeadLetterReason)
            ?? (Header(headers, "x-first-death-reason") is { } broker ? $"dead-lettered by the broker: {broker}" : "dead-lettered");
        await store.AddAsync(new DeadLetter
        {
            ProjectId = MessageProject.TryRead(message.Body.Span),
            Queue = logical,
            Body = message.Body.ToArray(),
            Headers = HeaderJson.Serialize(DeadLetterHeaders.Meaningful(headers)),
            Reason = reason,
            ExceptionType = Header(headers, MessageHeaders.ExceptionType),
            Deliveries = int.TryParse(Header(headers, MessageHeaders.Deliveries), NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : 0,
            TimeCreated = time.GetUtcNow().UtcDateTime,
        }, cancellationToken);
        return Verdict.Done;
    }

    private static string? Header(IReadOnlyDictionary<string, string> headers, string name) =>
        headers.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;
}
