using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Expressions;

namespace Actionflow.Core.Tests.Expressions;

/// <summary>
/// cel-spec's conformance cases (tests/simple/testdata, converted by scripts/cel-conformance.py into
/// cel-conformance.json) run against our evaluator. Every case of the chosen files is in the data; the ones that do
/// not apply are excluded by <see cref="NotApplicable"/>, each with its reason, and counted by a test of their own.
/// </summary>
public sealed class CelConformanceTests
{
    private static readonly Lazy<IReadOnlyList<Case>> All = new(Load);

    public static TheoryData<string> Applicable()
    {
        var data = new TheoryData<string>();
        foreach (var c in All.Value.Where(c => NotApplicable(c) is null))
        {
            data.Add(c.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Applicable))]
    public void Evaluate_ConformanceCase_GivesTheSpecifiedResult(string id)
    {
        var c = All.Value.Single(x => x.Id == id);
        var names = c.Bindings.Keys.ToArray();
        var compilation = new CelEnvironment(names).Compile(c.Expr);

        if (!compilation.Succeeded)
        {
            // The checker refused what the spec evaluates to an error; that is the same outcome, found earlier.
            Assert.True(c.Error is not null, $"{c.Expr}: compile failed: {string.Join("; ", compilation.Errors)}");
            return;
        }

        var result = compilation.Program!.EvaluateValues([.. names.Select(n => c.Bindings[n])]);
        if (c.Error is not null)
        {
            Assert.True(result.IsError, $"{c.Expr}: expected error '{c.Error}', got {result.Value}");
            return;
        }

        Assert.False(result.IsError, $"{c.Expr}: unexpected error {result.Error}");
        Assert.True(Same(result.Value, c.Expected!), $"{c.Expr}: expected {c.Expected!.ToJsonString()}, got {result.Value}");
    }

    [Fact]
    public void ConformanceData_CoversTheChosenFiles_MostCasesApply()
    {
        var all = All.Value;
        var applicable = all.Count(c => NotApplicable(c) is null);

        Assert.Equal(959, all.Count);
        Assert.True(applicable >= 760, $"only {applicable} of {all.Count} cases apply");
        foreach (var file in new[] { "basic", "comparisons", "logic", "fields", "lists", "plumbing", "macros", "string", "integer_math", "fp_math", "conversions" })
        {
            Assert.Contains(all, c => c.File == file && NotApplicable(c) is null);
        }
    }

    [Fact]
    public void NotApplicable_EveryExclusion_HasAReasonAndIsCounted()
    {
        var byReason = All.Value.Select(NotApplicable).Where(r => r is not null).GroupBy(r => r!).ToDictionary(g => g.Key, g => g.Count());

        Assert.All(byReason.Keys, reason => Assert.False(string.IsNullOrWhiteSpace(reason)));
        Assert.Equal(ExpectedExclusions, byReason.Values.Sum());
        Assert.All(Excluded.Keys, id => Assert.Contains(All.Value, c => c.Id == id));
    }

    /// <summary>Raise only with a reason in <see cref="NotApplicable"/>: every case that stops applying is a decision.</summary>
    private const int ExpectedExclusions = 161;

    /// <summary>Why a case does not apply to this evaluator, or null when it does.</summary>
    internal static string? NotApplicable(Case c)
    {
        if (c.File == "timestamps" || c.Expr.Contains("timestamp(", StringComparison.Ordinal) || c.Expr.Contains("duration(", StringComparison.Ordinal))
        {
            return "timestamps and durations are not supported (event times are JSON strings)";
        }

        if (c.Container is not null || c.Raw.ToJsonString().Contains("\"unsupported\"", StringComparison.Ordinal))
        {
            return "protobuf messages and enums: there are no message types over JSON";
        }

        if (c.Expr.Contains("google.protobuf", StringComparison.Ordinal) || c.Expr.Contains("TestAllTypes", StringComparison.Ordinal))
        {
            return "protobuf well-known types and wrappers: there are no message types over JSON";
        }

        if (c.Raw["unknown"] is not null || c.Raw["check_only"] is not null)
        {
            return "unknowns and check-only cases (partial evaluation and type deduction) are not part of this evaluator";
        }

        return Excluded.GetValueOrDefault(c.Id);
    }

    private const string UncheckedOnly =
        "runs with the checker disabled (an unknown name, or a non-bool operand of && / || absorbed by the other side); " +
        "our compiler always checks and refuses it, which is what a user saving a filter needs";

    /// <summary>Cases excluded one by one, each with why.</summary>
    private static readonly Dictionary<string, string> Excluded = new(StringComparer.Ordinal)
    {
        ["basic/variables/unbound_is_runtime_error"] = UncheckedOnly,
        ["basic/functions/unbound_is_runtime_error"] = UncheckedOnly,
        ["logic/AND/short_circuit_type_left"] = UncheckedOnly,
        ["logic/AND/short_circuit_type_right"] = UncheckedOnly,
        ["logic/OR/short_circuit_type_left"] = UncheckedOnly,
        ["logic/OR/short_circuit_type_right"] = UncheckedOnly,
    };

    private static bool Same(CelValue got, JsonNode want)
    {
        var (kind, x) = want.AsObject().First();
        switch (kind)
        {
            case "null":
                return got.Kind == CelKind.Null;
            case "bool":
                return got.Kind == CelKind.Bool && got.AsBool == (bool)x!;
            case "int":
                return got.Kind == CelKind.Int && got.AsInt == long.Parse((string)x!, CultureInfo.InvariantCulture);
            case "uint":
                return got.Kind == CelKind.Uint && got.AsUint == ulong.Parse((string)x!, CultureInfo.InvariantCulture);
            case "double":
                var d = ToValue(want).AsDouble;
                return got.Kind == CelKind.Double && (double.IsNaN(d) ? double.IsNaN(got.AsDouble) : got.AsDouble == d);
            case "string":
                return got.Kind == CelKind.String && got.AsString == (string)x!;
            case "bytes":
                return got.Kind == CelKind.Bytes && Convert.ToBase64String(got.AsBytes) == (string)x!;
            case "type":
                return got.Kind == CelKind.Type && got.AsTypeName == (string)x!;
            case "list":
            case "map":
                return got.Kind == (kind == "list" ? CelKind.List : CelKind.Map) && got.Equals(ToValue(want));
            default:
                return false;
        }
    }

    internal static CelValue ToValue(JsonNode tagged)
    {
        var (kind, x) = tagged.AsObject().First();
        return kind switch
        {
            "null" => CelValue.Null,
            "bool" => CelValue.Bool((bool)x!),
            "int" => CelValue.Int(long.Parse((string)x!, CultureInfo.InvariantCulture)),
            "uint" => CelValue.Uint(ulong.Parse((string)x!, CultureInfo.InvariantCulture)),
            "double" => CelValue.Double(x!.GetValueKind() == System.Text.Json.JsonValueKind.String
                ? (string)x! switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, _ => double.NegativeInfinity }
                : (double)x!),
            "string" => CelValue.String((string)x!),
            "bytes" => CelValue.Bytes(Convert.FromBase64String((string)x!)),
            "type" => CelValue.Type((string)x!),
            "list" => CelValue.List([.. x!.AsArray().Select(e => ToValue(e!))]),
            "map" => MapOf(x!.AsArray()),
            _ => throw new NotSupportedException(kind),
        };
    }

    private static CelValue MapOf(JsonArray entries)
    {
        var map = new CelMap(entries.Count);
        foreach (var e in entries)
        {
            map.TryAdd(ToValue(e![0]!), ToValue(e[1]!));
        }

        return CelValue.Map(map);
    }

    private static List<Case> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Expressions", "cel-conformance.json");
        var doc = JsonNode.Parse(File.ReadAllText(path))!;
        var cases = new List<Case>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in doc["cases"]!.AsArray())
        {
            var c = node!.AsObject();
            var id = $"{c["file"]}/{c["section"]}/{c["name"]}";
            for (var n = 2; !seen.Add(id); n++)
            {
                id = $"{c["file"]}/{c["section"]}/{c["name"]}#{n}";
            }

            var bindings = new Dictionary<string, CelValue>(StringComparer.Ordinal);
            var unsupported = c.ToJsonString().Contains("\"unsupported\"", StringComparison.Ordinal);
            if (c["bindings"] is JsonObject b && !unsupported)
            {
                foreach (var (name, value) in b)
                {
                    bindings[name] = ToValue(value!);
                }
            }

            cases.Add(new Case(id, (string)c["file"]!, (string)c["expr"]!, (string?)c["container"], bindings,
                unsupported ? null : c["value"], (string?)c["error"], c));
        }

        return cases;
    }

    internal sealed record Case(string Id, string File, string Expr, string? Container, Dictionary<string, CelValue> Bindings, JsonNode? Expected, string? Error, JsonObject Raw)
    {
        public override string ToString() => Id;
    }
}
