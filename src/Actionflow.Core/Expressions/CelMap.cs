using System.Collections;
using System.Globalization;
using System.Text;

namespace Actionflow.Core.Expressions;

/// <summary>
/// A map built by an expression (<c>{'a': 1}</c>). Keys are bool, int, uint or string; an int and a uint of the same
/// value are the same key, and a double that holds an integral value finds it, as CEL's heterogeneous equality says.
/// Iterates in insertion order so that macros over a map are deterministic.
/// </summary>
internal sealed class CelMap : IEnumerable<KeyValuePair<CelValue, CelValue>>
{
    private readonly Dictionary<Key, int> _index;
    private readonly List<KeyValuePair<CelValue, CelValue>> _entries;

    public CelMap(int capacity)
    {
        _index = new Dictionary<Key, int>(capacity);
        _entries = new List<KeyValuePair<CelValue, CelValue>>(capacity);
    }

    public int Count => _entries.Count;

    /// <summary>False when the key is already there.</summary>
    public bool TryAdd(CelValue key, CelValue value)
    {
        if (!TryNormalize(key, out var k) || !_index.TryAdd(k, _entries.Count))
        {
            return false;
        }

        _entries.Add(new(key, value));
        return true;
    }

    public bool TryGetValue(CelValue key, out CelValue value)
    {
        if (TryNormalize(key, out var k) && _index.TryGetValue(k, out var i))
        {
            value = _entries[i].Value;
            return true;
        }

        value = default;
        return false;
    }

    public static bool IsValidKey(CelValue key) => key.Kind is CelKind.Bool or CelKind.Int or CelKind.Uint or CelKind.String;

    public IEnumerator<KeyValuePair<CelValue, CelValue>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static int KeyHash(CelValue value) => TryNormalize(value, out var k) ? k.GetHashCode() : value.Kind.GetHashCode();

    private static bool TryNormalize(CelValue key, out Key normalized)
    {
        switch (key.Kind)
        {
            case CelKind.Bool:
                normalized = new Key(CelKind.Bool, key.AsBool ? 1 : 0, null);
                return true;
            case CelKind.Int:
                normalized = new Key(CelKind.Int, key.AsInt, null);
                return true;
            case CelKind.Uint:
                normalized = key.AsUint <= long.MaxValue ? new Key(CelKind.Int, (long)key.AsUint, null) : new Key(CelKind.Uint, key.AsInt, null);
                return true;
            case CelKind.Double:
                var d = key.AsDouble;
                if (d == Math.Floor(d) && d >= -9.2233720368547758E18 && d < 9.2233720368547758E18)
                {
                    normalized = new Key(CelKind.Int, (long)d, null);
                    return true;
                }

                if (d == Math.Floor(d) && d >= 9.2233720368547758E18 && d < 1.8446744073709552E19)
                {
                    normalized = new Key(CelKind.Uint, unchecked((long)(ulong)d), null);
                    return true;
                }

                break;
            case CelKind.String:
                normalized = new Key(CelKind.String, 0, key.AsString);
                return true;
        }

        normalized = default;
        return false;
    }

    private readonly record struct Key(CelKind Kind, long Bits, string? Text);
}

internal static class CelFormat
{
    /// <summary>Doubles as CEL prints them: shortest round-trip form, <c>NaN</c>, <c>+Inf</c>/<c>-Inf</c> as Go does, no exponent below 1e21.</summary>
    public static string Double(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "+Inf" : "-Inf";
        }

        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return string.Concat(r.AsSpan(0, e), "e", exponent < 0 ? "-" : "+", Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
    }

    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
