using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Actionflow.Actions.Transform;

/// <summary>The <c>config_data</c> of a <c>transform</c> step.</summary>
public sealed class TransformConfig
{
    public const int MinTimeoutMs = 10;
    public const int MaxTimeoutMs = 10_000;
    public const int MinStatements = 100;
    public const int MaxStatementsLimit = 10_000_000;

    [Required]
    [Description("JavaScript (strict mode) that defines function transform(event, previous) and returns the output object, e.g. function transform(event, previous) { return { big: previous.count > 10 }; }")]
    public string Script { get; set; } = "";

    [Range(MinTimeoutMs, MaxTimeoutMs)]
    [Description("Milliseconds the script may run, from 10 to 10000 (default 1000).")]
    public int TimeoutMs { get; set; } = 1000;

    [Range(MinStatements, MaxStatementsLimit)]
    [Description("Statements the script may execute, from 100 to 10000000 (default 1000000).")]
    public int MaxStatements { get; set; } = 1_000_000;
}
