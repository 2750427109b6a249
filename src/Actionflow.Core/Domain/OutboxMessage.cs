namespace Actionflow.Core.Domain;

/// <summary>
/// A message written in the same transaction as the state change that caused it. With RabbitMQ a relay publishes
/// it (confirms on) and deletes it; with the embedded transport this table is the queue itself.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }
    /// <summary>The logical queue: <see cref="Abstractions.QueueNames"/>.</summary>
    public required string Queue { get; set; }
    public required byte[] Body { get; set; }
    /// <summary>Headers as a JSON object of strings, or null.</summary>
    public string? Headers { get; set; }
    public DateTime TimeCreated { get; set; }
    /// <summary>Embedded transport only: not visible to consumers before this time (lease or delayed retry).</summary>
    public DateTime? AvailableAt { get; set; }
    /// <summary>Embedded transport only: deliveries so far.</summary>
    public int Deliveries { get; set; }
}
