namespace Actionflow.Core.Domain;

/// <summary>Embedded transport only: a message that could not be processed, with why. RabbitMQ keeps its own in the dead-letter queue.</summary>
public sealed class DeadLetter
{
    public long Id { get; set; }
    public required string Queue { get; set; }
    public required byte[] Body { get; set; }
    public string? Headers { get; set; }
    public required string Reason { get; set; }
    public string? ExceptionType { get; set; }
    public int Deliveries { get; set; }
    public DateTime TimeCreated { get; set; }
}
