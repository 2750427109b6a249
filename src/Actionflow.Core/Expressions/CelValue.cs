using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Expressions;

#pragma warning disable CA1720 // the kinds and factories carry CEL's own type names: int, uint, double, string

/// <summary>The kinds of CEL value this evaluator knows. <c>int</c>, <c>uint</c> and <c>double</c> stay distinct, as in CEL.</summary>
public enum CelKind : byte
{
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List,
    Map,
    Type,
    Error,
}

/// <summary>
/// A CEL value. A struct so that numbers and booleans cost no allocation; lists and maps read from the caller's JSON
/// stay that JSON (no copy). A JSON number written without fraction or exponent that fits a long is an <c>int</c>,
/// any other JSON number a <c>double</c> (CEL's own JSON mapping makes every number a double, which would make
/// <c>event.file_id % 2</c> an error; comparisons across int, uint and double work either way).
/// </summary>
public readonly struct CelValue : IEquatable<CelValue>
{
    private readonly long _bits;
    private readonly object? _ref;

    private CelValue(CelKind kind, long bits, object? reference)
    {
        Kind = kind;
        _bits = bits;
        _ref = reference;
    }

    public CelKind Kind { get; }

    public static CelValue Null => default;

    public static CelValue True { get; } = new(CelKind.Bool, 1, null);

    public static CelValue False { get; } = new(CelKind.Bool, 0, null);

    public bool IsError => Kind == CelKind.Error;

    public bool AsBool => _bits != 0;

    public long AsInt => _bits;

    public ulong AsUint => unchecked((ulong)_bits);

    public double AsDouble => BitConverter.Int64BitsToDouble(_bits);

    public string AsString => (string)_ref!;

    public byte[] AsBytes => (byte[])_ref!;

    /// <summary>The type name of a <see cref="CelKind.Type"/> value (<c>int</c>, <c>list</c>, ...).</summary>
    public string AsTypeName => (string)_ref!;

    public CelError AsError => (CelError)_ref!;

    internal object? Reference => _ref;

    public static CelValue Bool(bool value) => value ? True : False;

    public static CelValue Int(long value) => new(CelKind.Int, value, null);

    public static CelValue Uint(ulong value) => new(CelKind.Uint, unchecked((long)value), null);

    public static CelValue Double(double value) => new(CelKind.Double, BitConverter.DoubleToInt64Bits(value), null);

    public static CelValue String(string value) => new(CelKind.String, 0, value);

    public static CelValue Bytes(byte[] value) => new(CelKind.Bytes, 0, value);

    public static CelValue Type(string name) => new(CelKind.Type, 0, name);

    public static CelValue Error(CelError error) => new(CelKind.Error, 0, error);

    internal static CelValue Error(int offset, string message) => new(CelKind.Error, 0, new CelError(offset, message));

    /// <summary>A list; <paramref name="items"/> is <see cref="CelValue"/>[] or a <see cref="JsonArray"/>.</summary>
    internal static CelValue List(object items) => new(CelKind.List, 0, items);

    /// <summary>A map; <paramref name="entries"/> is a <see cref="CelMap"/> or a <see cref="JsonObject"/>.</summary>
    internal static CelValue Map(object entries) => new(CelKind.Map, 0, entries);

    public static CelValue List(IReadOnlyList<CelValue> items) => new(CelKind.List, 0, items.ToArray());

    /// <summary>A JSON node as a CEL value, without copying objects or arrays.</summary>
    public static CelValue FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return Null;
            case JsonObject obj:
                return new CelValue(CelKind.Map, 0, obj);
            case JsonArray array:
                return new CelValue(CelKind.List, 0, array);
            case JsonValue value:
                return FromJsonValue(value);
            default:
                return Null;
        }
    }

    private static CelValue FromJsonValue(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.True:
                return True;
            case JsonValueKind.False:
                return False;
            case JsonValueKind.String:
                return String(value.GetValue<string>());
            case JsonValueKind.Number:
                if (value.TryGetValue<JsonElement>(out var element))
                {
                    return element.TryGetInt64(out var l) ? Int(l) : Double(element.GetDouble());
                }

                if (value.TryGetValue<long>(out var n) || TryGetSmallInteger(value, out n))
                {
                    return Int(n);
                }

                if (value.TryGetValue<double>(out var d))
                {
                    return Double(d);
                }

                var text = value.ToJsonString();
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n)
                    ? Int(n)
                    : Double(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
            default:
                return Null;
        }
    }

    private static bool TryGetSmallInteger(JsonValue value, out long n)
    {
        if (value.TryGetValue<int>(out var i))
        {
            n = i;
            return true;
        }

        if (value.TryGetValue<short>(out var s))
        {
            n = s;
            return true;
        }

        if (value.TryGetValue<byte>(out var b))
        {
            n = b;
            return true;
        }

        if (value.TryGetValue<uint>(out var u))
        {
            n = u;
            return true;
        }

        n = 0;
        return false;
    }

    /// <summary>
    /// This value as JSON, for outputs and logs: numbers as numbers, bytes as base64, maps with non-string keys
    /// under their string form; null for an error.
    /// </summary>
    public JsonNode? ToJson()
    {
        switch (Kind)
        {
            case CelKind.Bool:
                return JsonValue.Create(AsBool);
            case CelKind.Int:
                return JsonValue.Create(AsInt);
            case CelKind.Uint:
                return JsonValue.Create(AsUint);
            case CelKind.Double:
                return double.IsFinite(AsDouble) ? JsonValue.Create(AsDouble) : JsonValue.Create(CelFormat.Double(AsDouble));
            case CelKind.String:
                return JsonValue.Create(AsString);
            case CelKind.Bytes:
                return JsonValue.Create(Convert.ToBase64String(AsBytes));
            case CelKind.Type:
                return JsonValue.Create(AsTypeName);
            case CelKind.List:
                if (_ref is JsonArray ja)
                {
                    return ja.DeepClone();
                }

                var array = new JsonArray();
                foreach (var item in (CelValue[])_ref!)
                {
                    array.Add(item.ToJson());
                }

                return array;
            case CelKind.Map:
                if (_ref is JsonObject jo)
                {
                    return jo.DeepClone();
                }

                var obj = new JsonObject();
                foreach (var (key, item) in (CelMap)_ref!)
                {
                    obj[key.Kind == CelKind.String ? key.AsString : key.ToString()] = item.ToJson();
                }

                return obj;
            default:
                return null;
        }
    }

    /// <summary>The CEL type name of this value: <c>int</c>, <c>string</c>, <c>map</c>, ...</summary>
    public string TypeName => Kind switch
    {
        CelKind.Null => "null_type",
        CelKind.Bool => "bool",
        CelKind.Int => "int",
        CelKind.Uint => "uint",
        CelKind.Double => "double",
        CelKind.String => "string",
        CelKind.Bytes => "bytes",
        CelKind.List => "list",
        CelKind.Map => "map",
        CelKind.Type => "type",
        _ => "error",
    };

    public override string ToString() => Kind switch
    {
        CelKind.Null => "null",
        CelKind.Bool => AsBool ? "true" : "false",
        CelKind.Int => AsInt.ToString(CultureInfo.InvariantCulture),
        CelKind.Uint => AsUint.ToString(CultureInfo.InvariantCulture) + "u",
        CelKind.Double => CelFormat.Double(AsDouble),
        CelKind.String => CelFormat.Quote(AsString),
        CelKind.Bytes => "b" + CelFormat.Quote(Encoding.Latin1.GetString(AsBytes)),
        CelKind.Type => AsTypeName,
        CelKind.Error => "error: " + AsError.Message,
        _ => ToJson()?.ToJsonString() ?? "null",
    };

    /// <summary>CEL equality (heterogeneous numbers compare by value; NaN is not equal to itself); errors are unequal.</summary>
    public bool Equals(CelValue other) => CelOps.Equal(this, other) is { Kind: CelKind.Bool, AsBool: true };

    public override bool Equals(object? obj) => obj is CelValue other && Equals(other);

    public override int GetHashCode() => CelMap.KeyHash(this);

    public static bool operator ==(CelValue left, CelValue right) => left.Equals(right);

    public static bool operator !=(CelValue left, CelValue right) => !left.Equals(right);
}
