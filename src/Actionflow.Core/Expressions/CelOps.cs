using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Actionflow.Core.Expressions;

/// <summary>
/// CEL's runtime semantics over <see cref="CelValue"/>. Every function returns an error value rather than throwing;
/// an error argument is returned as is (strictness), the first one from the left.
/// </summary>
internal static class CelOps
{
    private const double TwoTo63 = 9.2233720368547758E18;
    private const double TwoTo64 = 1.8446744073709552E19;

    // The non-backtracking engine runs in linear time, so this only bounds a huge input. It is wall time, and the first
    // match also builds the pattern's automaton: 100 ms was exceeded by a 4-character match on a 2-core machine at load
    // average 30, which made a filter fail that had nothing wrong with it.
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    public static CelValue NoOverload(int offset, string function, CelValue a) =>
        CelValue.Error(offset, $"no matching overload for '{function}' applied to ({a.TypeName})");

    public static CelValue NoOverload(int offset, string function, CelValue a, CelValue b) =>
        CelValue.Error(offset, $"no matching overload for '{function}' applied to ({a.TypeName}, {b.TypeName})");

    private static CelValue Overflow(int offset) => CelValue.Error(offset, "integer overflow");

    // ---- arithmetic ----

    public static CelValue Add(CelValue a, CelValue b, int offset)
    {
        if (a.Kind != b.Kind)
        {
            return a.IsError ? a : b.IsError ? b : NoOverload(offset, "+", a, b);
        }

        switch (a.Kind)
        {
            case CelKind.Int:
                var r = (Int128)a.AsInt + b.AsInt;
                return r < long.MinValue || r > long.MaxValue ? Overflow(offset) : CelValue.Int((long)r);
            case CelKind.Uint:
                var u = (UInt128)a.AsUint + b.AsUint;
                return u > ulong.MaxValue ? Overflow(offset) : CelValue.Uint((ulong)u);
            case CelKind.Double:
                return CelValue.Double(a.AsDouble + b.AsDouble);
            case CelKind.String:
                return CelValue.String(string.Concat(a.AsString, b.AsString));
            case CelKind.Bytes:
                return CelValue.Bytes([.. a.AsBytes, .. b.AsBytes]);
            case CelKind.List:
                var items = new CelValue[ListCount(a) + ListCount(b)];
                var n = ListCount(a);
                for (var i = 0; i < n; i++)
                {
                    items[i] = ListItem(a, i);
                }

                for (var i = 0; i < items.Length - n; i++)
                {
                    items[n + i] = ListItem(b, i);
                }

                return CelValue.List((object)items);
            case CelKind.Error:
                return a;
            default:
                return NoOverload(offset, "+", a, b);
        }
    }

    public static CelValue Subtract(CelValue a, CelValue b, int offset)
    {
        if (a.Kind != b.Kind)
        {
            return a.IsError ? a : b.IsError ? b : NoOverload(offset, "-", a, b);
        }

        switch (a.Kind)
        {
            case CelKind.Int:
                var r = (Int128)a.AsInt - b.AsInt;
                return r < long.MinValue || r > long.MaxValue ? Overflow(offset) : CelValue.Int((long)r);
            case CelKind.Uint:
                return a.AsUint < b.AsUint ? Overflow(offset) : CelValue.Uint(a.AsUint - b.AsUint);
            case CelKind.Double:
                return CelValue.Double(a.AsDouble - b.AsDouble);
            case CelKind.Error:
                return a;
            default:
                return NoOverload(offset, "-", a, b);
        }
    }

    public static CelValue Multiply(CelValue a, CelValue b, int offset)
    {
        if (a.Kind != b.Kind)
        {
            return a.IsError ? a : b.IsError ? b : NoOverload(offset, "*", a, b);
        }

        switch (a.Kind)
        {
            case CelKind.Int:
                var r = (Int128)a.AsInt * b.AsInt;
                return r < long.MinValue || r > long.MaxValue ? Overflow(offset) : CelValue.Int((long)r);
            case CelKind.Uint:
                var u = (UInt128)a.AsUint * b.AsUint;
                return u > ulong.MaxValue ? Overflow(offset) : CelValue.Uint((ulong)u);
            case CelKind.Double:
                return CelValue.Double(a.AsDouble * b.AsDouble);
            case CelKind.Error:
                return a;
            default:
                return NoOverload(offset, "*", a, b);
        }
    }

    public static CelValue Divide(CelValue a, CelValue b, int offset)
    {
        if (a.Kind != b.Kind)
        {
            return a.IsError ? a : b.IsError ? b : NoOverload(offset, "/", a, b);
        }

        switch (a.Kind)
        {
            case CelKind.Int:
                if (b.AsInt == 0)
                {
                    return CelValue.Error(offset, "divide by zero");
                }

                return a.AsInt == long.MinValue && b.AsInt == -1 ? Overflow(offset) : CelValue.Int(a.AsInt / b.AsInt);
            case CelKind.Uint:
                return b.AsUint == 0 ? CelValue.Error(offset, "divide by zero") : CelValue.Uint(a.AsUint / b.AsUint);
            case CelKind.Double:
                return CelValue.Double(a.AsDouble / b.AsDouble);
            case CelKind.Error:
                return a;
            default:
                return NoOverload(offset, "/", a, b);
        }
    }

    public static CelValue Modulo(CelValue a, CelValue b, int offset)
    {
        if (a.Kind != b.Kind)
        {
            return a.IsError ? a : b.IsError ? b : NoOverload(offset, "%", a, b);
        }

        switch (a.Kind)
        {
            case CelKind.Int:
                if (b.AsInt == 0)
                {
                    return CelValue.Error(offset, "modulus by zero");
                }

                return a.AsInt == long.MinValue && b.AsInt == -1 ? Overflow(offset) : CelValue.Int(a.AsInt % b.AsInt);
            case CelKind.Uint:
                return b.AsUint == 0 ? CelValue.Error(offset, "modulus by zero") : CelValue.Uint(a.AsUint % b.AsUint);
            case CelKind.Error:
                return a;
            default:
                return NoOverload(offset, "%", a, b);
        }
    }

    public static CelValue Negate(CelValue a, int offset) => a.Kind switch
    {
        CelKind.Int => a.AsInt == long.MinValue ? Overflow(offset) : CelValue.Int(-a.AsInt),
        CelKind.Double => CelValue.Double(-a.AsDouble),
        CelKind.Error => a,
        _ => NoOverload(offset, "-", a),
    };

    public static CelValue Not(CelValue a, int offset) => a.Kind switch
    {
        CelKind.Bool => CelValue.Bool(!a.AsBool),
        CelKind.Error => a,
        _ => NoOverload(offset, "!", a),
    };

    // ---- comparison ----

    /// <summary>Equality as CEL defines it since heterogeneous equality: numbers by value across kinds, other kinds never equal to each other.</summary>
    public static CelValue Equal(CelValue a, CelValue b)
    {
        if (a.IsError)
        {
            return a;
        }

        if (b.IsError)
        {
            return b;
        }

        return CelValue.Bool(Equals(a, b));
    }

    private static bool Equals(CelValue a, CelValue b)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return CompareNumbers(a, b) == 0;
        }

        if (a.Kind != b.Kind)
        {
            return false;
        }

        switch (a.Kind)
        {
            case CelKind.Null:
                return true;
            case CelKind.Bool:
                return a.AsBool == b.AsBool;
            case CelKind.String:
                return string.Equals(a.AsString, b.AsString, StringComparison.Ordinal);
            case CelKind.Bytes:
                return a.AsBytes.AsSpan().SequenceEqual(b.AsBytes);
            case CelKind.Type:
                return string.Equals(a.AsTypeName, b.AsTypeName, StringComparison.Ordinal);
            case CelKind.List:
                var n = ListCount(a);
                if (n != ListCount(b))
                {
                    return false;
                }

                for (var i = 0; i < n; i++)
                {
                    if (!Equals(ListItem(a, i), ListItem(b, i)))
                    {
                        return false;
                    }
                }

                return true;
            case CelKind.Map:
                if (MapCount(a) != MapCount(b))
                {
                    return false;
                }

                foreach (var (key, value) in MapEntries(a))
                {
                    if (!MapTryGet(b, key, out var other) || !Equals(value, other))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    public static bool IsNumber(CelValue v) => v.Kind is CelKind.Int or CelKind.Uint or CelKind.Double;

    /// <summary>-1, 0, 1, or null when unordered (NaN); both operands are numbers.</summary>
    public static int? CompareNumbers(CelValue a, CelValue b)
    {
        switch (a.Kind, b.Kind)
        {
            case (CelKind.Int, CelKind.Int):
                return a.AsInt.CompareTo(b.AsInt);
            case (CelKind.Uint, CelKind.Uint):
                return a.AsUint.CompareTo(b.AsUint);
            case (CelKind.Double, CelKind.Double):
                return double.IsNaN(a.AsDouble) || double.IsNaN(b.AsDouble) ? null : a.AsDouble.CompareTo(b.AsDouble);
            case (CelKind.Int, CelKind.Uint):
                return a.AsInt < 0 ? -1 : ((ulong)a.AsInt).CompareTo(b.AsUint);
            case (CelKind.Uint, CelKind.Int):
                return b.AsInt < 0 ? 1 : a.AsUint.CompareTo((ulong)b.AsInt);
            case (CelKind.Int, CelKind.Double):
                return CompareIntDouble(a.AsInt, b.AsDouble);
            case (CelKind.Double, CelKind.Int):
                return -CompareIntDouble(b.AsInt, a.AsDouble);
            case (CelKind.Uint, CelKind.Double):
                return CompareUintDouble(a.AsUint, b.AsDouble);
            default:
                return -CompareUintDouble(b.AsUint, a.AsDouble);
        }
    }

    /// <summary>As cel-go does: the integer is converted to double, so 2^63-1 and 2^63 as a double compare equal.</summary>
    private static int? CompareIntDouble(long i, double d) => double.IsNaN(d) ? null : ((double)i).CompareTo(d);

    private static int? CompareUintDouble(ulong u, double d) => double.IsNaN(d) ? null : ((double)u).CompareTo(d);

    /// <summary><c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>: <paramref name="accept"/> says which signs of the comparison make it true.</summary>
    public static CelValue Relation(CelValue a, CelValue b, int offset, string op, Func<int, bool> accept)
    {
        if (a.IsError)
        {
            return a;
        }

        if (b.IsError)
        {
            return b;
        }

        int? sign;
        if (IsNumber(a) && IsNumber(b))
        {
            sign = CompareNumbers(a, b);
        }
        else if (a.Kind != b.Kind)
        {
            return NoOverload(offset, op, a, b);
        }
        else
        {
            switch (a.Kind)
            {
                case CelKind.String:
                    sign = CompareCodePoints(a.AsString, b.AsString);
                    break;
                case CelKind.Bytes:
                    sign = a.AsBytes.AsSpan().SequenceCompareTo(b.AsBytes);
                    break;
                case CelKind.Bool:
                    sign = a.AsBool.CompareTo(b.AsBool);
                    break;
                default:
                    return NoOverload(offset, op, a, b);
            }
        }

        return CelValue.Bool(sign is { } s && accept(Math.Sign(s)));
    }

    /// <summary>Code-point order (UTF-16 ordinal order differs from it for characters above U+FFFF).</summary>
    private static int CompareCodePoints(string a, string b)
    {
        var i = 0;
        while (i < a.Length && i < b.Length)
        {
            if (a[i] != b[i])
            {
                return Rune.GetRuneAt(a, i).Value.CompareTo(Rune.GetRuneAt(b, i).Value);
            }

            i++;
        }

        return a.Length.CompareTo(b.Length);
    }

    public static CelValue In(CelValue element, CelValue container, int offset)
    {
        if (element.IsError)
        {
            return element;
        }

        switch (container.Kind)
        {
            case CelKind.List:
                var n = ListCount(container);
                for (var i = 0; i < n; i++)
                {
                    if (Equals(element, ListItem(container, i)))
                    {
                        return CelValue.True;
                    }
                }

                return CelValue.False;
            case CelKind.Map:
                return CelValue.Bool(MapTryGet(container, element, out _));
            case CelKind.Error:
                return container;
            default:
                return NoOverload(offset, "in", element, container);
        }
    }

    // ---- lists and maps, whether built by the expression or read from JSON ----

    public static int ListCount(CelValue list) => list.Reference is JsonArray ja ? ja.Count : ((CelValue[])list.Reference!).Length;

    public static CelValue ListItem(CelValue list, int index) =>
        list.Reference is JsonArray ja ? CelValue.FromJson(ja[index]) : ((CelValue[])list.Reference!)[index];

    public static int MapCount(CelValue map) => map.Reference is JsonObject jo ? jo.Count : ((CelMap)map.Reference!).Count;

    public static bool MapTryGet(CelValue map, CelValue key, out CelValue value)
    {
        if (map.Reference is JsonObject jo)
        {
            if (key.Kind == CelKind.String && jo.TryGetPropertyValue(key.AsString, out var node))
            {
                value = CelValue.FromJson(node);
                return true;
            }

            value = default;
            return false;
        }

        return ((CelMap)map.Reference!).TryGetValue(key, out value);
    }

    public static IEnumerable<KeyValuePair<CelValue, CelValue>> MapEntries(CelValue map)
    {
        if (map.Reference is JsonObject jo)
        {
            foreach (var (key, node) in jo)
            {
                yield return new(CelValue.String(key), CelValue.FromJson(node));
            }

            yield break;
        }

        foreach (var entry in (CelMap)map.Reference!)
        {
            yield return entry;
        }
    }

    /// <summary>The keys of a map or the items of a list, as the macros iterate them.</summary>
    public static CelValue[] Iterate(CelValue range)
    {
        if (range.Kind == CelKind.List)
        {
            if (range.Reference is CelValue[] items)
            {
                return items;
            }

            var n = ListCount(range);
            var copy = new CelValue[n];
            for (var i = 0; i < n; i++)
            {
                copy[i] = ListItem(range, i);
            }

            return copy;
        }

        return [.. MapEntries(range).Select(e => e.Key)];
    }

    public static CelValue Select(CelValue operand, string field, int offset)
    {
        switch (operand.Kind)
        {
            case CelKind.Map:
                return MapTryGet(operand, CelValue.String(field), out var value)
                    ? value
                    : CelValue.Error(offset, $"no such key: '{field}'");
            case CelKind.Error:
                return operand;
            case CelKind.Null:
                return CelValue.Error(offset, $"cannot select '{field}' from null");
            default:
                return CelValue.Error(offset, $"cannot select '{field}' from a value of type {operand.TypeName}");
        }
    }

    /// <summary><c>has(x.f)</c>. A JSON null has no fields, so <c>has</c> on it is false (CEL would report an error; JSON payloads have nulls often).</summary>
    public static CelValue Has(CelValue operand, string field, int offset) => operand.Kind switch
    {
        CelKind.Map => CelValue.Bool(MapTryGet(operand, CelValue.String(field), out _)),
        CelKind.Null => CelValue.False,
        CelKind.Error => operand,
        _ => CelValue.Error(offset, $"has() cannot test '{field}' on a value of type {operand.TypeName}"),
    };

    public static CelValue Index(CelValue operand, CelValue index, int offset)
    {
        if (operand.IsError)
        {
            return operand;
        }

        if (index.IsError)
        {
            return index;
        }

        switch (operand.Kind)
        {
            case CelKind.List:
                long i;
                switch (index.Kind)
                {
                    case CelKind.Int:
                        i = index.AsInt;
                        break;
                    case CelKind.Uint:
                        i = index.AsUint > long.MaxValue ? long.MaxValue : (long)index.AsUint;
                        break;
                    case CelKind.Double when index.AsDouble == Math.Truncate(index.AsDouble) && Math.Abs(index.AsDouble) < TwoTo63:
                        i = (long)index.AsDouble;
                        break;
                    case CelKind.Double:
                        return CelValue.Error(offset, $"invalid list index {CelFormat.Double(index.AsDouble)}: not an integer");
                    default:
                        return NoOverload(offset, "[]", operand, index);
                }

                var n = ListCount(operand);
                return i < 0 || i >= n
                    ? CelValue.Error(offset, $"index out of range: {i.ToString(CultureInfo.InvariantCulture)} (the list has {n.ToString(CultureInfo.InvariantCulture)} items)")
                    : ListItem(operand, (int)i);
            case CelKind.Map:
                if (!CelMap.IsValidKey(index) && index.Kind != CelKind.Double)
                {
                    return CelValue.Error(offset, $"unsupported map key type: {index.TypeName}");
                }

                return MapTryGet(operand, index, out var value) ? value : CelValue.Error(offset, $"no such key: {index}");
            default:
                return NoOverload(offset, "[]", operand, index);
        }
    }

    public static CelValue Size(CelValue a, int offset) => a.Kind switch
    {
        CelKind.String => CelValue.Int(CountCodePoints(a.AsString)),
        CelKind.Bytes => CelValue.Int(a.AsBytes.Length),
        CelKind.List => CelValue.Int(ListCount(a)),
        CelKind.Map => CelValue.Int(MapCount(a)),
        CelKind.Error => a,
        _ => NoOverload(offset, "size", a),
    };

    private static int CountCodePoints(string s)
    {
        var n = s.Length;
        foreach (var c in s)
        {
            if (char.IsLowSurrogate(c))
            {
                n--;
            }
        }

        return n;
    }

    // ---- strings ----

    public static CelValue StringTest(CelValue a, CelValue b, int offset, string name, Func<string, string, bool> test)
    {
        if (a.IsError)
        {
            return a;
        }

        if (b.IsError)
        {
            return b;
        }

        return a.Kind == CelKind.String && b.Kind == CelKind.String
            ? CelValue.Bool(test(a.AsString, b.AsString))
            : NoOverload(offset, name, a, b);
    }

    public static CelValue Matches(CelValue text, CelValue pattern, int offset)
    {
        if (text.IsError)
        {
            return text;
        }

        if (pattern.IsError)
        {
            return pattern;
        }

        if (text.Kind != CelKind.String || pattern.Kind != CelKind.String)
        {
            return NoOverload(offset, "matches", text, pattern);
        }

        var regex = CompileRegex(pattern.AsString, out var problem);
        return regex is null ? CelValue.Error(offset, problem!) : Matches(text, regex, offset);
    }

    public static CelValue Matches(CelValue text, Regex regex, int offset)
    {
        if (text.IsError)
        {
            return text;
        }

        if (text.Kind != CelKind.String)
        {
            return NoOverload(offset, "matches", text, CelValue.String(regex.ToString()));
        }

        try
        {
            return CelValue.Bool(regex.IsMatch(text.AsString));
        }
        catch (RegexMatchTimeoutException)
        {
            return CelValue.Error(offset, $"regular expression took longer than {RegexTimeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
        }
    }

    /// <summary>
    /// RE2 has no backtracking, lookaround or backreferences; .NET's non-backtracking engine has the same limits and
    /// the same linear time, so a pattern that would not run under RE2 is refused too.
    /// </summary>
    public static Regex? CompileRegex(string pattern, out string? problem)
    {
        try
        {
            problem = null;
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            problem = $"invalid regular expression: {e.Message}";
        }
        catch (NotSupportedException e)
        {
            problem = $"unsupported regular expression (RE2 syntax: no lookaround or backreferences): {e.Message}";
        }

        return null;
    }

    // ---- conversions ----

    public static CelValue ToInt(CelValue a, int offset)
    {
        switch (a.Kind)
        {
            case CelKind.Int:
            case CelKind.Error:
                return a;
            case CelKind.Uint:
                return a.AsUint > long.MaxValue ? CelValue.Error(offset, "range error: uint value does not fit an int") : CelValue.Int((long)a.AsUint);
            case CelKind.Double:
                var d = a.AsDouble;
                return double.IsNaN(d) || d <= -TwoTo63 || d >= TwoTo63
                    ? CelValue.Error(offset, $"range error: {CelFormat.Double(d)} does not fit an int")
                    : CelValue.Int((long)d);
            case CelKind.String:
                return long.TryParse(a.AsString, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? CelValue.Int(n)
                    : CelValue.Error(offset, $"cannot convert {a} to int");
            default:
                return NoOverload(offset, "int", a);
        }
    }

    public static CelValue ToUint(CelValue a, int offset)
    {
        switch (a.Kind)
        {
            case CelKind.Uint:
            case CelKind.Error:
                return a;
            case CelKind.Int:
                return a.AsInt < 0 ? CelValue.Error(offset, "range error: a negative int does not fit a uint") : CelValue.Uint((ulong)a.AsInt);
            case CelKind.Double:
                var d = a.AsDouble;
                return double.IsNaN(d) || d <= -1 || d >= TwoTo64
                    ? CelValue.Error(offset, $"range error: {CelFormat.Double(d)} does not fit a uint")
                    : CelValue.Uint((ulong)d);
            case CelKind.String:
                return ulong.TryParse(a.AsString, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                    ? CelValue.Uint(n)
                    : CelValue.Error(offset, $"cannot convert {a} to uint");
            default:
                return NoOverload(offset, "uint", a);
        }
    }

    public static CelValue ToDouble(CelValue a, int offset)
    {
        switch (a.Kind)
        {
            case CelKind.Double:
            case CelKind.Error:
                return a;
            case CelKind.Int:
                return CelValue.Double(a.AsInt);
            case CelKind.Uint:
                return CelValue.Double(a.AsUint);
            case CelKind.String:
                var s = a.AsString;
                var special = s switch
                {
                    "NaN" => double.NaN,
                    "Inf" or "+Inf" or "Infinity" or "+Infinity" or "inf" or "+inf" => double.PositiveInfinity,
                    "-Inf" or "-Infinity" or "-inf" => double.NegativeInfinity,
                    _ => (double?)null,
                };
                if (special is { } sp)
                {
                    return CelValue.Double(sp);
                }

                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                    ? CelValue.Double(d)
                    : CelValue.Error(offset, $"cannot convert {a} to double");
            default:
                return NoOverload(offset, "double", a);
        }
    }

    public static CelValue ToStringValue(CelValue a, int offset)
    {
        switch (a.Kind)
        {
            case CelKind.String:
            case CelKind.Error:
                return a;
            case CelKind.Int:
                return CelValue.String(a.AsInt.ToString(CultureInfo.InvariantCulture));
            case CelKind.Uint:
                return CelValue.String(a.AsUint.ToString(CultureInfo.InvariantCulture));
            case CelKind.Double:
                return CelValue.String(CelFormat.Double(a.AsDouble));
            case CelKind.Bool:
                return CelValue.String(a.AsBool ? "true" : "false");
            case CelKind.Bytes:
                try
                {
                    return CelValue.String(StrictUtf8.GetString(a.AsBytes));
                }
                catch (DecoderFallbackException)
                {
                    return CelValue.Error(offset, "invalid UTF-8 in bytes converted to string");
                }

            case CelKind.Type:
                return CelValue.String(a.AsTypeName);
            default:
                return NoOverload(offset, "string", a);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static CelValue ToBytes(CelValue a, int offset) => a.Kind switch
    {
        CelKind.Bytes or CelKind.Error => a,
        CelKind.String => CelValue.Bytes(Encoding.UTF8.GetBytes(a.AsString)),
        _ => NoOverload(offset, "bytes", a),
    };

    public static CelValue ToBool(CelValue a, int offset)
    {
        switch (a.Kind)
        {
            case CelKind.Bool:
            case CelKind.Error:
                return a;
            case CelKind.String:
                return a.AsString switch
                {
                    "1" or "t" or "true" or "TRUE" or "True" => CelValue.True,
                    "0" or "f" or "false" or "FALSE" or "False" => CelValue.False,
                    _ => CelValue.Error(offset, $"cannot convert {a} to bool"),
                };
            default:
                return NoOverload(offset, "bool", a);
        }
    }

    public static CelValue TypeOf(CelValue a) => a.IsError ? a : CelValue.Type(a.TypeName);
}
