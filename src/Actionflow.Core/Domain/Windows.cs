namespace Actionflow.Core.Domain;

/// <summary>
/// The open window of one step and key (<c>trigger_data.window</c>): what <see cref="Scheduling.WindowState"/> holds,
/// as a row. Changed only by the worker holding the key's lock, and only from the <see cref="Version"/> it read.
/// </summary>
public sealed class StepWindow
{
    public long Id { get; set; }
    public long ActionId { get; set; }
    public long ProjectId { get; set; }
    /// <summary>The key's value, as canonical JSON text (<c>12</c>, <c>"cats"</c>, <c>null</c>).</summary>
    public required string WindowKey { get; set; }
    /// <summary><c>batch</c>, <c>debounce</c> or <c>throttle</c>: the mode the state was made under.</summary>
    public required string Mode { get; set; }
    public DateTime OpenedAt { get; set; }
    public DateTime LastEventAt { get; set; }
    public int EventCount { get; set; }
    /// <summary>Event ids, JSON array, in arrival order.</summary>
    public string Members { get; set; } = "[]";
    /// <summary>When it closes by time; null: never (a batch with <c>max_events</c> only).</summary>
    public DateTime? CloseAt { get; set; }
    public long Version { get; set; }
    public DateTime TimeUpdated { get; set; }
}

/// <summary>
/// An event matched to a windowed step, written with the event in the same transaction (instead of a run), and
/// folded into the step's window for its key by the window processor.
/// </summary>
public sealed class WindowEntry
{
    public long Id { get; set; }
    public long ActionId { get; set; }
    public long ProjectId { get; set; }
    public required string WindowKey { get; set; }
    public long EventId { get; set; }
    public DateTime TimeCreated { get; set; }
}
