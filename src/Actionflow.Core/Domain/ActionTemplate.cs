using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

public sealed class ActionTemplate
{
    public long Id { get; set; }
    public required string Kind { get; set; }
    public required string PublicName { get; set; }
    public string Description { get; set; } = "";
    public string Icon { get; set; } = "";
    public string? Category { get; set; }
    public JsonObject TriggerData { get; set; } = [];
    public JsonObject ConditionData { get; set; } = [];
    public JsonObject CompletionConditionData { get; set; } = [];
    public JsonObject ConfigSchema { get; set; } = [];
    public bool IsAvailable { get; set; } = true;
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
