namespace Actionflow.Core.Domain;

public sealed class Workflow
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public required string Name { get; set; }
    public string StringId { get; set; } = "";
    public bool Active { get; set; }
    public bool Archived { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
