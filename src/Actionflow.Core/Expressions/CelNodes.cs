using System.Text.RegularExpressions;

namespace Actionflow.Core.Expressions;

/// <summary>
/// A node of a compiled program. Immutable once built; the per-evaluation state (the variables and the macros'
/// loop variables) lives in the slot array passed down, so one program serves any number of threads.
/// </summary>
internal abstract class CelNode(int offset)
{
    public int Offset { get; } = offset;

    public abstract CelValue Eval(CelValue[] slots);
}

internal sealed class ConstNode(int offset, CelValue value) : CelNode(offset)
{
    public CelValue Value { get; } = value;

    public override CelValue Eval(CelValue[] slots) => Value;
}

internal sealed class SlotNode(int offset, int slot) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => slots[slot];
}

internal sealed class SelectNode(int offset, CelNode operand, string field) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => CelOps.Select(operand.Eval(slots), field, Offset);
}

internal sealed class HasNode(int offset, CelNode operand, string field) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => CelOps.Has(operand.Eval(slots), field, Offset);
}

internal sealed class IndexNode(int offset, CelNode operand, CelNode index) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => CelOps.Index(operand.Eval(slots), index.Eval(slots), Offset);
}

/// <summary>
/// <c>&amp;&amp;</c> is commutative over errors: false on either side wins, whatever the other side is (an error, a
/// wrong type); only when neither side is false does an error surface.
/// </summary>
internal sealed class AndNode(int offset, CelNode left, CelNode right) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var l = left.Eval(slots);
        if (l.Kind == CelKind.Bool && !l.AsBool)
        {
            return l;
        }

        var r = right.Eval(slots);
        if (r.Kind == CelKind.Bool)
        {
            if (!r.AsBool)
            {
                return r;
            }

            if (l.Kind == CelKind.Bool)
            {
                return CelValue.True;
            }
        }

        return Fail(l, r);
    }

    private CelValue Fail(CelValue l, CelValue r) =>
        l.IsError ? l
        : l.Kind != CelKind.Bool ? CelOps.NoOverload(Offset, "&&", l, r)
        : r.IsError ? r
        : CelOps.NoOverload(Offset, "&&", l, r);
}

internal sealed class OrNode(int offset, CelNode left, CelNode right) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var l = left.Eval(slots);
        if (l.Kind == CelKind.Bool && l.AsBool)
        {
            return l;
        }

        var r = right.Eval(slots);
        if (r.Kind == CelKind.Bool)
        {
            if (r.AsBool)
            {
                return r;
            }

            if (l.Kind == CelKind.Bool)
            {
                return CelValue.False;
            }
        }

        return l.IsError ? l
            : l.Kind != CelKind.Bool ? CelOps.NoOverload(Offset, "||", l, r)
            : r.IsError ? r
            : CelOps.NoOverload(Offset, "||", l, r);
    }
}

internal sealed class ConditionalNode(int offset, CelNode condition, CelNode whenTrue, CelNode whenFalse) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var c = condition.Eval(slots);
        return c.Kind switch
        {
            CelKind.Bool => c.AsBool ? whenTrue.Eval(slots) : whenFalse.Eval(slots),
            CelKind.Error => c,
            _ => CelOps.NoOverload(Offset, "?:", c),
        };
    }
}

internal sealed class Call1Node(int offset, Func<CelValue, int, CelValue> function, CelNode arg) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => function(arg.Eval(slots), Offset);
}

internal sealed class Call2Node(int offset, Func<CelValue, CelValue, int, CelValue> function, CelNode a, CelNode b) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var x = a.Eval(slots);
        var y = b.Eval(slots);
        return function(x, y, Offset);
    }
}

internal sealed class EqualNode(int offset, CelNode a, CelNode b, bool negate) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var r = CelOps.Equal(a.Eval(slots), b.Eval(slots));
        return negate && r.Kind == CelKind.Bool ? CelValue.Bool(!r.AsBool) : r;
    }
}

/// <summary><c>matches</c> with a literal pattern: compiled (and checked) once, at compile time.</summary>
internal sealed class MatchesNode(int offset, CelNode text, Regex regex) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots) => CelOps.Matches(text.Eval(slots), regex, Offset);
}

internal sealed class ListNode(int offset, CelNode[] items) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var values = new CelValue[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var v = items[i].Eval(slots);
            if (v.IsError)
            {
                return v;
            }

            values[i] = v;
        }

        return CelValue.List((object)values);
    }
}

internal sealed class MapNode(int offset, CelNode[] keys, CelNode[] values) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var map = new CelMap(keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            var k = keys[i].Eval(slots);
            if (k.IsError)
            {
                return k;
            }

            var v = values[i].Eval(slots);
            if (v.IsError)
            {
                return v;
            }

            if (!CelMap.IsValidKey(k))
            {
                return CelValue.Error(keys[i].Offset, $"unsupported map key type: {k.TypeName}");
            }

            if (!map.TryAdd(k, v))
            {
                return CelValue.Error(keys[i].Offset, $"repeated key in map literal: {k}");
            }
        }

        return CelValue.Map(map);
    }
}

internal enum MacroKind
{
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
}

/// <summary>
/// The macros. <c>all</c> and <c>exists</c> absorb errors the way <c>&amp;&amp;</c> and <c>||</c> do (a false,
/// respectively a true, element decides whatever the others gave); <c>exists_one</c>, <c>map</c> and <c>filter</c>
/// fail on the first error.
/// </summary>
internal sealed class ComprehensionNode(int offset, MacroKind kind, CelNode range, int slot, CelNode? predicate, CelNode? transform) : CelNode(offset)
{
    public override CelValue Eval(CelValue[] slots)
    {
        var r = range.Eval(slots);
        if (r.IsError)
        {
            return r;
        }

        if (r.Kind is not (CelKind.List or CelKind.Map))
        {
            return CelOps.NoOverload(Offset, Name, r);
        }

        var items = CelOps.Iterate(r);
        return kind switch
        {
            MacroKind.All => Quantify(items, slots, decisive: false),
            MacroKind.Exists => Quantify(items, slots, decisive: true),
            MacroKind.ExistsOne => ExistsOne(items, slots),
            _ => Collect(items, slots),
        };
    }

    private string Name => kind switch
    {
        MacroKind.All => "all",
        MacroKind.Exists => "exists",
        MacroKind.ExistsOne => "exists_one",
        MacroKind.Map => "map",
        _ => "filter",
    };

    private CelValue Quantify(CelValue[] items, CelValue[] slots, bool decisive)
    {
        CelValue? error = null;
        foreach (var item in items)
        {
            slots[slot] = item;
            var v = predicate!.Eval(slots);
            if (v.Kind == CelKind.Bool)
            {
                if (v.AsBool == decisive)
                {
                    return v;
                }
            }
            else
            {
                error ??= v.IsError ? v : CelOps.NoOverload(predicate.Offset, Name, v);
            }
        }

        return error ?? CelValue.Bool(!decisive);
    }

    private CelValue ExistsOne(CelValue[] items, CelValue[] slots)
    {
        var count = 0;
        foreach (var item in items)
        {
            slots[slot] = item;
            var v = predicate!.Eval(slots);
            if (v.Kind != CelKind.Bool)
            {
                return v.IsError ? v : CelOps.NoOverload(predicate.Offset, Name, v);
            }

            if (v.AsBool)
            {
                count++;
            }
        }

        return CelValue.Bool(count == 1);
    }

    private CelValue Collect(CelValue[] items, CelValue[] slots)
    {
        var result = new List<CelValue>(items.Length);
        foreach (var item in items)
        {
            slots[slot] = item;
            if (predicate is not null)
            {
                var keep = predicate.Eval(slots);
                if (keep.Kind != CelKind.Bool)
                {
                    return keep.IsError ? keep : CelOps.NoOverload(predicate.Offset, Name, keep);
                }

                if (!keep.AsBool)
                {
                    continue;
                }
            }

            if (transform is null)
            {
                result.Add(item);
                continue;
            }

            var v = transform.Eval(slots);
            if (v.IsError)
            {
                return v;
            }

            result.Add(v);
        }

        return CelValue.List((object)result.ToArray());
    }
}
