using System.Text.Json.Nodes;
using Actionflow.Core.Expressions;
using Actionflow.Core.Json;
using BenchmarkDotNet.Attributes;

namespace Actionflow.Bench.Micro;

/// <summary>
/// Once per (event, step with a filter): a CEL filter against the same test written by hand in C# over the same
/// JSON (the baseline; the ratio is what a filter costs). Compile runs once per definitions version, measured for scale.
/// </summary>
[MemoryDiagnoser]
public class ExpressionFilters
{
    private const string Source = "event.extra_metadata.score > 0.8 && event.directory_id in [12, 14]";
    private static readonly CelEnvironment Environment = new("event", "previous");
    private CelProgram _program = null!;
    private CelProgram _missingField = null!;
    private JsonObject _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        _event = Samples.DiffgramEvent(123_456, "input_file_uploaded", 42);
        _event["directory_id"] = 14;
        _event["extra_metadata"] = new JsonObject { ["score"] = 0.93, ["dataset"] = "cats" };
        _event = JsonNode.Parse(_event.ToJsonString())!.AsObject();
        JsonNodes.Materialize(_event);
        _program = Environment.CompileCondition(Source).Program!;
        _missingField = Environment.CompileCondition("event.extra_metadata.missing > 0.8").Program!;
        if (!HandWritten() || !Cel())
        {
            throw new InvalidOperationException("the benchmark's event must match");
        }
    }

    [Benchmark(Baseline = true, Description = "hand-written C# predicate over the JSON")]
    public bool HandWritten()
    {
        if (_event["extra_metadata"] is not JsonObject metadata || metadata["score"] is not JsonValue score
            || !score.TryGetValue<double>(out var s) || s <= 0.8)
        {
            return false;
        }

        return JsonNodes.TryGetInt64(_event["directory_id"], out var directory) && directory is 12 or 14;
    }

    [Benchmark(Description = "CelProgram.Test (same filter)")]
    public bool Cel() => _program.Test(_event).Holds;

    [Benchmark(Description = "CelProgram.Test (runtime error: missing field)")]
    public bool CelMissingField() => _missingField.Test(_event).Holds;

    [Benchmark(Description = "CelEnvironment.CompileCondition (once per definitions version)")]
#pragma warning disable CA1822 // BenchmarkDotNet runs instance methods
    public CelCompilation Compile() => Environment.CompileCondition(Source);
#pragma warning restore CA1822
}
