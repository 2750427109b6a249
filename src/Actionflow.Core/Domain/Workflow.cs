namespace Actionflow.Core.Domain;

public sealed class Workflow
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public required string Name { get; set; }
    public string StringId { get; set; } = "";
    /// <summary>Diffgram's legacy <c>trigger_type</c>; stored and returned, not used by the engine.</summary>
    public string? TriggerType { get; set; }
    /// <summary>Diffgram's legacy aggregation <c>time_window</c> (e.g. <c>5_minutes</c>); stored and returned, not used by the engine.</summary>
    public string? TimeWindow { get; set; }
    /// <summary>At most this many runs of the workflow's steps run at once, across workers; null: no limit.</summary>
    public int? ConcurrencyLimit { get; set; }
    public bool Active { get; set; }
    public bool Archived { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
