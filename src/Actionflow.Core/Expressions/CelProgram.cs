using System.Text.Json.Nodes;

namespace Actionflow.Core.Expressions;

/// <summary>
/// Where CEL expressions are compiled: the names of the variables an expression may use (for workflows
/// <c>event</c> and <c>previous</c>). Compile once per definitions version; the program is immutable and
/// thread-safe, evaluate it as often as needed.
/// </summary>
/// <remarks>
/// Supported: CEL's literals (int, uint <c>1u</c>, double, string with every quoting form, bytes <c>b'..'</c>,
/// null, lists, maps), operators with CEL's semantics (int64/uint64 overflow is an error; int, uint and double are
/// distinct for arithmetic but compare and test equal by value), <c>&amp;&amp;</c>/<c>||</c> absorbing errors
/// from either side, <c>?:</c>, <c>in</c>, field selection and indexing on JSON objects and arrays, <c>has()</c>,
/// <c>size()</c>, the macros <c>all</c>, <c>exists</c>, <c>exists_one</c>, <c>map</c>, <c>filter</c>, the string
/// functions <c>contains</c>, <c>startsWith</c>, <c>endsWith</c>, <c>matches</c> (RE2 syntax: no lookaround or
/// backreferences, linear time), conversions <c>int() uint() double() string() bytes() bool() type() dyn()</c>.
/// Not supported: protobuf messages and enums, timestamps and durations, optional values, extension libraries.
/// </remarks>
public sealed class CelEnvironment
{
    /// <summary>Longer sources are refused: an expression is a filter, not a program.</summary>
    public const int MaxSourceLength = 10_000;

    private readonly string[] _variables;

    public CelEnvironment(params IEnumerable<string> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        _variables = [.. variables];
        if (_variables.Distinct(StringComparer.Ordinal).Count() != _variables.Length)
        {
            throw new ArgumentException("variable names must be distinct", nameof(variables));
        }
    }

    /// <summary>The variables, in the order <see cref="CelProgram.Evaluate(ReadOnlySpan{JsonNode})"/> takes their values.</summary>
    public IReadOnlyList<string> Variables => _variables;

    /// <summary>Parses and checks <paramref name="source"/>. Never throws on bad input: the errors are in the result.</summary>
    public CelCompilation Compile(string source) => Compile(source, requireBool: false);

    /// <summary>As <see cref="Compile"/>, and refuses an expression that can never give a bool (<c>event.score + 1</c>).</summary>
    public CelCompilation CompileCondition(string source) => Compile(source, requireBool: true);

    private CelCompilation Compile(string source, bool requireBool)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > MaxSourceLength)
        {
            return new CelCompilation(null, [CelError.At(source, MaxSourceLength, $"the expression is longer than {MaxSourceLength} characters")]);
        }

        if (string.IsNullOrWhiteSpace(source))
        {
            return new CelCompilation(null, [CelError.At(source, 0, "the expression is empty")]);
        }

        Syntax syntax;
        try
        {
            syntax = CelParser.Parse(source);
        }
        catch (CelParseError e)
        {
            return new CelCompilation(null, [CelError.At(source, e.Offset, e.Message)]);
        }

        var binder = new CelBinder(_variables);
        var (root, type) = binder.Bind(syntax);
        var errors = binder.Errors.Select(e => CelError.At(source, e.Offset, e.Message)).ToList();
        if (requireBool && errors.Count == 0 && type is not (StaticType.Bool or StaticType.Dyn))
        {
            errors.Add(CelError.At(source, 0, $"a condition must give a bool; this expression gives {type.ToString().ToLowerInvariant()}"));
        }

        return errors.Count > 0
            ? new CelCompilation(null, errors.OrderBy(e => e.Offset).ToList())
            : new CelCompilation(new CelProgram(this, source, root, binder.SlotCount), []);
    }
}

/// <summary>The outcome of <see cref="CelEnvironment.Compile"/>: a program, or the errors (never both).</summary>
public sealed record CelCompilation(CelProgram? Program, IReadOnlyList<CelError> Errors)
{
    public bool Succeeded => Program is not null;
}

/// <summary>A compiled expression. Immutable and thread-safe.</summary>
public sealed class CelProgram
{
    [ThreadStatic]
    private static CelValue[]? _spareSlots;

    private readonly CelNode _root;
    private readonly int _slotCount;

    internal CelProgram(CelEnvironment environment, string source, CelNode root, int slotCount)
    {
        Environment = environment;
        Source = source;
        _root = root;
        _slotCount = slotCount;
    }

    public CelEnvironment Environment { get; }

    public string Source { get; }

    /// <summary>
    /// Evaluates with the variables' values in the order of <see cref="CelEnvironment.Variables"/> (missing trailing
    /// values are null). The JSON is read, never changed; a tree shared across threads should be materialized first
    /// (System.Text.Json builds child nodes lazily).
    /// </summary>
    public CelResult Evaluate(params ReadOnlySpan<JsonNode?> variables)
    {
        var slots = RentSlots();
        var count = Math.Min(variables.Length, Environment.Variables.Count);
        for (var i = 0; i < count; i++)
        {
            slots[i] = CelValue.FromJson(variables[i]);
        }

        return Run(slots);
    }

    /// <summary>As <see cref="Evaluate(ReadOnlySpan{JsonNode})"/>, with values already converted (uint and bytes have no JSON form).</summary>
    public CelResult EvaluateValues(params ReadOnlySpan<CelValue> variables)
    {
        var slots = RentSlots();
        variables[..Math.Min(variables.Length, Environment.Variables.Count)].CopyTo(slots);
        return Run(slots);
    }

    private CelValue[] RentSlots()
    {
        var slots = _spareSlots is { } spare && spare.Length >= _slotCount ? spare : new CelValue[Math.Max(_slotCount, 8)];
        _spareSlots = null;
        return slots;
    }

    private CelResult Run(CelValue[] slots)
    {
        CelValue value;
        try
        {
            value = _root.Eval(slots);
        }
        finally
        {
            Array.Clear(slots);
            _spareSlots = slots;
        }

        return value.IsError ? new CelResult(default, Locate(value.AsError)) : new CelResult(value, null);
    }

    /// <summary>Evaluates with named values; a declared variable not given is null.</summary>
    public CelResult Evaluate(IReadOnlyDictionary<string, JsonNode?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var names = Environment.Variables;
        var values = new JsonNode?[names.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = variables.GetValueOrDefault(names[i]);
        }

        return Evaluate(values);
    }

    /// <summary>For filters and conditions: true, or false with the reason (the condition was false, an error, or not a bool).</summary>
    public CelCondition Test(params ReadOnlySpan<JsonNode?> variables) => CelCondition.From(Evaluate(variables));

    /// <inheritdoc cref="Test(ReadOnlySpan{JsonNode})"/>
    public CelCondition Test(IReadOnlyDictionary<string, JsonNode?> variables) => CelCondition.From(Evaluate(variables));

    private CelError Locate(CelError error) => CelError.At(Source, error.Offset, error.Message);

    public override string ToString() => Source;
}

/// <summary>A compile or runtime error: the position in the source (0-based offset, 1-based line and column) and a message for a person.</summary>
public sealed record CelError(int Offset, string Message)
{
    public int Line { get; init; } = 1;

    public int Column { get; init; } = Offset + 1;

    internal static CelError At(string source, int offset, string message)
    {
        offset = Math.Clamp(offset, 0, source.Length);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new CelError(offset, message) { Line = line, Column = offset - lineStart + 1 };
    }

    public override string ToString() => $"line {Line}, column {Column}: {Message}";
}

/// <summary>The value of an evaluation, or its error (a missing field, a wrong type, an overflow): never an exception.</summary>
public readonly record struct CelResult(CelValue Value, CelError? Error)
{
    public bool IsError => Error is not null;
}

/// <summary>Whether a filter or condition holds; when it does not, why (for the run's <c>skipped</c> record).</summary>
public readonly record struct CelCondition(bool Holds, string? Reason)
{
    internal static CelCondition From(CelResult result)
    {
        if (result.Error is { } error)
        {
            return new CelCondition(false, $"the expression failed at {error}");
        }

        return result.Value.Kind == CelKind.Bool
            ? new CelCondition(result.Value.AsBool, result.Value.AsBool ? null : "the expression is false")
            : new CelCondition(false, $"the expression gave {result.Value.TypeName} {result.Value}, not a bool");
    }
}
