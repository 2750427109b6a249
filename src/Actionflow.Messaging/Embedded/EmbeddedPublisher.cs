using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Messaging.Embedded;

/// <summary>Publishing without a broker: the message becomes a row of the embedded queue, committed before this returns.</summary>
public sealed class EmbeddedPublisher(IServiceScopeFactory scopes, IOutboxSignal signal, TimeProvider time) : IMessagePublisher
{
    public async Task PublishAsync(string queue, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        if (queue is not (QueueNames.Events or QueueNames.ActionTriggers))
        {
            throw new ArgumentException($"'{queue}' is not a logical queue; use {nameof(QueueNames)}.{nameof(QueueNames.Events)} or {nameof(QueueNames)}.{nameof(QueueNames.ActionTriggers)}.", nameof(queue));
        }

        var message = new OutboxMessage
        {
            Queue = queue,
            Body = body.ToArray(),
            Headers = HeaderJson.Serialize(headers),
            TimeCreated = time.GetUtcNow().UtcDateTime,
        };
        await using (var scope = scopes.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IEmbeddedQueueStore>().EnqueueAsync(message, cancellationToken);
        }

        signal.Notify(queue);
    }
}
