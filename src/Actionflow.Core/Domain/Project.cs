namespace Actionflow.Core.Domain;

public sealed class Project
{
    public long Id { get; set; }
    public required string StringId { get; set; }
    public required string Name { get; set; }
    public DateTime TimeCreated { get; set; }
}
