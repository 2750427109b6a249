namespace Actionflow.Core.Domain;

/// <summary>
/// A message that could not be processed, with why: written by the embedded transport, and archived from
/// RabbitMQ's dead-letter queue. Listed and replayed through the API.
/// </summary>
public sealed class DeadLetter
{
    public long Id { get; set; }
    /// <summary>The project the message belongs to, when it could be read from it.</summary>
    public long? ProjectId { get; set; }
    public required string Queue { get; set; }
    public required byte[] Body { get; set; }
    public string? Headers { get; set; }
    public required string Reason { get; set; }
    public string? ExceptionType { get; set; }
    public int Deliveries { get; set; }
    public DateTime TimeCreated { get; set; }
}
