using System.Globalization;
using System.Text.RegularExpressions;

namespace Actionflow.Core.Expressions;

/// <summary>What the checker knows of a value's type before evaluation; <see cref="Dyn"/> when only evaluation will tell (JSON data).</summary>
internal enum StaticType
{
    Dyn,
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
}

/// <summary>
/// Resolves names and checks what can be checked before any data is seen: undeclared variables, unknown functions
/// and argument counts, and operators applied to operands whose types are known (literals, results of conversions),
/// such as <c>1 + 'a'</c> or <c>size(1)</c>. Anything touching a variable is dynamic and checked at evaluation.
/// Builds the executable nodes as it goes; collects every error instead of stopping at the first.
/// </summary>
internal sealed class CelBinder
{
    private static readonly StaticType[] Numbers = [StaticType.Int, StaticType.Uint, StaticType.Double];

    private static readonly Dictionary<string, string> TypeNames = new(StringComparer.Ordinal)
    {
        ["int"] = "int", ["uint"] = "uint", ["double"] = "double", ["bool"] = "bool", ["string"] = "string",
        ["bytes"] = "bytes", ["list"] = "list", ["map"] = "map", ["null_type"] = "null_type", ["type"] = "type",
    };

    private static readonly Dictionary<string, Function> Functions = BuildFunctions();

    private readonly IReadOnlyList<string> _variables;
    private readonly List<(int Offset, string Message)> _errors = [];
    private readonly List<(string Name, int Slot)> _scope = [];
    private int _maxSlots;

    public CelBinder(IReadOnlyList<string> variables)
    {
        _variables = variables;
        _maxSlots = variables.Count;
    }

    public IReadOnlyList<(int Offset, string Message)> Errors => _errors;

    /// <summary>Slots an evaluation needs: the variables, then one per nesting level of macros.</summary>
    public int SlotCount => _maxSlots;

    /// <summary>Deeper trees are refused, so that neither binding nor evaluation can exhaust a thread's stack.</summary>
    public const int MaxDepth = 250;

    private int _depth;
    private bool _tooDeep;

    public (CelNode Node, StaticType Type) Bind(Syntax syntax)
    {
        if (_depth >= MaxDepth)
        {
            if (!_tooDeep)
            {
                _tooDeep = true;
                Error(syntax.Offset, $"expression nested more than {MaxDepth} levels deep");
            }

            return (new ConstNode(syntax.Offset, CelValue.Null), StaticType.Dyn);
        }

        _depth++;
        try
        {
            return BindNode(syntax);
        }
        finally
        {
            _depth--;
        }
    }

    private (CelNode Node, StaticType Type) BindNode(Syntax syntax)
    {
        switch (syntax)
        {
            case ConstSyntax c:
                return (new ConstNode(c.Offset, c.Value), Of(c.Value.Kind));
            case IdentSyntax id:
                return BindIdent(id);
            case SelectSyntax s:
                {
                    if (!s.TestOnly && QualifiedVariable(s) is { } slot)
                    {
                        return (new SlotNode(s.Offset, slot), StaticType.Dyn);
                    }

                    var (operand, type) = Bind(s.Operand);
                    if (type is not (StaticType.Dyn or StaticType.Map or StaticType.Null))
                    {
                        Error(s.Offset, $"cannot select '{s.Field}' from a value of type {Name(type)}");
                    }

                    return s.TestOnly
                        ? (new HasNode(s.Offset, operand, s.Field), StaticType.Bool)
                        : (new SelectNode(s.Offset, operand, s.Field), StaticType.Dyn);
                }

            case IndexSyntax ix:
                {
                    var (operand, type) = Bind(ix.Operand);
                    var (index, indexType) = Bind(ix.Index);
                    if (type is not (StaticType.Dyn or StaticType.List or StaticType.Map))
                    {
                        Error(ix.Offset, $"cannot index a value of type {Name(type)}");
                    }
                    else if (type == StaticType.List && indexType is not (StaticType.Dyn or StaticType.Int or StaticType.Uint or StaticType.Double))
                    {
                        Error(ix.Index.Offset, $"a list index must be a number, not {Name(indexType)}");
                    }

                    return (new IndexNode(ix.Offset, operand, index), StaticType.Dyn);
                }

            case ListSyntax list:
                {
                    CelNode[] items = [.. list.Items.Select(i => Bind(i).Node)];

                    // A list of literals (the usual right side of 'in') is built once, not per evaluation.
                    return items.All(i => i is ConstNode)
                        ? (new ConstNode(list.Offset, CelValue.List((object)items.Select(i => ((ConstNode)i).Value).ToArray())), StaticType.List)
                        : (new ListNode(list.Offset, items), StaticType.List);
                }
            case MapSyntax map:
                {
                    var keys = new CelNode[map.Entries.Count];
                    var values = new CelNode[map.Entries.Count];
                    for (var i = 0; i < keys.Length; i++)
                    {
                        var (key, keyType) = Bind(map.Entries[i].Key);
                        if (keyType is not (StaticType.Dyn or StaticType.Bool or StaticType.Int or StaticType.Uint or StaticType.String))
                        {
                            Error(map.Entries[i].Key.Offset, $"a map key must be a bool, int, uint or string, not {Name(keyType)}");
                        }

                        keys[i] = key;
                        values[i] = Bind(map.Entries[i].Value).Node;
                    }

                    return (new MapNode(map.Offset, keys, values), StaticType.Map);
                }

            case ComprehensionSyntax comp:
                return BindComprehension(comp);
            case CallSyntax call:
                return BindCall(call);
            default:
                throw new InvalidOperationException(syntax.GetType().Name);
        }
    }

    /// <summary>
    /// A declared variable may have a dotted name (<c>a.b</c>); <c>a.b.c</c> then means field <c>c</c> of it, as CEL
    /// resolves names: the longest declared prefix wins, and a loop variable hides them all.
    /// </summary>
    private int? QualifiedVariable(SelectSyntax select)
    {
        var parts = new Stack<string>();
        Syntax current = select;
        while (current is SelectSyntax { TestOnly: false } s)
        {
            parts.Push(s.Field);
            current = s.Operand;
        }

        if (current is not IdentSyntax root || _scope.Any(v => v.Name == root.Name))
        {
            return null;
        }

        var name = root.Name + "." + string.Join(".", parts);
        var index = Array.IndexOf(_variables as string[] ?? [.. _variables], name);
        return index >= 0 ? index : null;
    }

    private (CelNode, StaticType) BindIdent(IdentSyntax id)
    {
        for (var i = _scope.Count - 1; i >= 0; i--)
        {
            if (_scope[i].Name == id.Name)
            {
                return (new SlotNode(id.Offset, _scope[i].Slot), StaticType.Dyn);
            }
        }

        for (var i = 0; i < _variables.Count; i++)
        {
            if (_variables[i] == id.Name)
            {
                return (new SlotNode(id.Offset, i), StaticType.Dyn);
            }
        }

        if (TypeNames.TryGetValue(id.Name, out var typeName))
        {
            return (new ConstNode(id.Offset, CelValue.Type(typeName)), StaticType.Type);
        }

        var known = _variables.Count == 0 ? "no variables are declared" : "variables: " + string.Join(", ", _variables);
        Error(id.Offset, $"undeclared reference to '{id.Name}' ({known})");
        return (new ConstNode(id.Offset, CelValue.Null), StaticType.Dyn);
    }

    private (CelNode, StaticType) BindComprehension(ComprehensionSyntax comp)
    {
        var (range, rangeType) = Bind(comp.Range);
        if (rangeType is not (StaticType.Dyn or StaticType.List or StaticType.Map))
        {
            Error(comp.Offset, $"{comp.Macro}() applies to a list or a map, not {Name(rangeType)}");
        }

        if (_variables.Contains(comp.Variable))
        {
            Error(comp.VariableOffset, $"the loop variable '{comp.Variable}' hides the variable of the same name; choose another name");
        }

        var slot = _variables.Count + _scope.Count;
        _scope.Add((comp.Variable, slot));
        _maxSlots = Math.Max(_maxSlots, slot + 1);
        CelNode? predicate = null;
        CelNode? transform = null;
        if (comp.Predicate is not null)
        {
            var (p, pType) = Bind(comp.Predicate);
            if (pType is not (StaticType.Dyn or StaticType.Bool))
            {
                Error(comp.Predicate.Offset, $"the condition of {comp.Macro}() must be a bool, not {Name(pType)}");
            }

            predicate = p;
        }

        if (comp.Transform is not null)
        {
            transform = Bind(comp.Transform).Node;
        }

        _scope.RemoveAt(_scope.Count - 1);
        var kind = comp.Macro switch
        {
            "all" => MacroKind.All,
            "exists" => MacroKind.Exists,
            "exists_one" => MacroKind.ExistsOne,
            "map" => MacroKind.Map,
            _ => MacroKind.Filter,
        };
        return (new ComprehensionNode(comp.Offset, kind, range, slot, predicate, transform), kind is MacroKind.Map or MacroKind.Filter ? StaticType.List : StaticType.Bool);
    }

    private (CelNode, StaticType) BindCall(CallSyntax call)
    {
        var args = new List<Syntax>(call.Args.Count + 1);
        if (call.Target is not null)
        {
            args.Add(call.Target);
        }

        args.AddRange(call.Args);
        var bound = args.Select(Bind).ToArray();
        var nodes = bound.Select(b => b.Node).ToArray();
        var types = bound.Select(b => b.Type).ToArray();

        switch (call.Function)
        {
            case "_&&_":
            case "_||_":
                CheckBool(call.Args[0], types[0], call.Function);
                CheckBool(call.Args[1], types[1], call.Function);
                return (call.Function == "_&&_" ? new AndNode(call.Offset, nodes[0], nodes[1]) : new OrNode(call.Offset, nodes[0], nodes[1]), StaticType.Bool);
            case "_?_:_":
                CheckBool(call.Args[0], types[0], "?:");
                return (new ConditionalNode(call.Offset, nodes[0], nodes[1], nodes[2]), types[1] == types[2] ? types[1] : StaticType.Dyn);
            case "_==_":
            case "_!=_":
                return (new EqualNode(call.Offset, nodes[0], nodes[1], call.Function == "_!=_"), StaticType.Bool);
            case "dyn" when call.Target is null && nodes.Length == 1:
                return (nodes[0], StaticType.Dyn);
            case "matches" when nodes.Length == 2 && args[1] is ConstSyntax { Value.Kind: CelKind.String } pattern:
                {
                    CheckOverloads(call, types);
                    var regex = CelOps.CompileRegex(pattern.Value.AsString, out var problem);
                    if (regex is null)
                    {
                        Error(pattern.Offset, problem!);
                        return (new ConstNode(call.Offset, CelValue.False), StaticType.Bool);
                    }

                    return (new MatchesNode(call.Offset, nodes[0], regex), StaticType.Bool);
                }
        }

        var result = CheckOverloads(call, types);
        if (!Functions.TryGetValue(Key(call.Function, call.Target is not null, nodes.Length), out var function))
        {
            return (new ConstNode(call.Offset, CelValue.Null), StaticType.Dyn);
        }

        CelNode node = nodes.Length == 1
            ? new Call1Node(call.Offset, function.Unary!, nodes[0])
            : new Call2Node(call.Offset, function.Binary!, nodes[0], nodes[1]);
        return (node, result);
    }

    private StaticType CheckOverloads(CallSyntax call, StaticType[] types)
    {
        var receiver = call.Target is not null;
        var display = Display(call.Function);
        if (!Functions.TryGetValue(Key(call.Function, receiver, types.Length), out var function))
        {
            var arities = Functions.Values.Where(f => f.Name == call.Function && f.Receiver == receiver).Select(f => f.Arity - (receiver ? 1 : 0)).ToList();
            if (arities.Count > 0)
            {
                Error(call.Offset, $"{display}() takes {string.Join(" or ", arities)} argument(s), not {call.Args.Count}");
            }
            else if (Functions.Values.Any(f => f.Name == call.Function))
            {
                Error(call.Offset, receiver
                    ? $"{display}() is not a method: write {display}(x), not x.{display}()"
                    : $"{display}() is a method: write x.{display}(...)");
            }
            else
            {
                Error(call.Offset, $"unknown function '{display}'");
            }

            return StaticType.Dyn;
        }

        var matching = function.Overloads.Where(o => o.Params.Zip(types).All(p => p.First == StaticType.Dyn || p.Second == StaticType.Dyn || p.First == p.Second)).ToList();
        if (matching.Count == 0)
        {
            Error(call.Offset, $"no matching overload for '{display}' applied to ({string.Join(", ", types.Select(Name))})");
            return StaticType.Dyn;
        }

        var results = matching.Select(o => o.Result).Distinct().ToList();
        return results.Count == 1 ? results[0] : StaticType.Dyn;
    }

    private void CheckBool(Syntax syntax, StaticType type, string function)
    {
        if (type is not (StaticType.Dyn or StaticType.Bool))
        {
            Error(syntax.Offset, $"the operand of '{Display(function)}' must be a bool, not {Name(type)}");
        }
    }

    private void Error(int offset, string message) => _errors.Add((offset, message));

    private static string Display(string function) => function switch
    {
        "@in" => "in",
        "_?_:_" => "?:",
        _ => char.IsAsciiLetter(function[0]) ? function : function.Trim('_'),
    };

    private static StaticType Of(CelKind kind) => kind switch
    {
        CelKind.Null => StaticType.Null,
        CelKind.Bool => StaticType.Bool,
        CelKind.Int => StaticType.Int,
        CelKind.Uint => StaticType.Uint,
        CelKind.Double => StaticType.Double,
        CelKind.String => StaticType.String,
        CelKind.Bytes => StaticType.Bytes,
        CelKind.List => StaticType.List,
        CelKind.Map => StaticType.Map,
        CelKind.Type => StaticType.Type,
        _ => StaticType.Dyn,
    };

    private static string Name(StaticType type) => type switch
    {
        StaticType.Null => "null_type",
        StaticType.Dyn => "dyn",
        _ => type.ToString().ToLowerInvariant(),
    };

    private static string Key(string name, bool receiver, int arity) => string.Create(CultureInfo.InvariantCulture, $"{name}/{(receiver ? "r" : "g")}{arity}");

    private sealed record Overload(StaticType[] Params, StaticType Result);

    private sealed record Function(string Name, bool Receiver, int Arity, Overload[] Overloads, Func<CelValue, int, CelValue>? Unary, Func<CelValue, CelValue, int, CelValue>? Binary);

    private static Dictionary<string, Function> BuildFunctions()
    {
        var all = new Dictionary<string, Function>(StringComparer.Ordinal);
        void Add1(string name, bool receiver, Func<CelValue, int, CelValue> fn, params (StaticType Param, StaticType Result)[] overloads) =>
            all[Key(name, receiver, 1)] = new Function(name, receiver, 1, [.. overloads.Select(o => new Overload([o.Param], o.Result))], fn, null);
        void Add2(string name, bool receiver, Func<CelValue, CelValue, int, CelValue> fn, params (StaticType A, StaticType B, StaticType Result)[] overloads) =>
            all[Key(name, receiver, 2)] = new Function(name, receiver, 2, [.. overloads.Select(o => new Overload([o.A, o.B], o.Result))], null, fn);

        (StaticType, StaticType, StaticType)[] Same(StaticType result, params StaticType[] types) => [.. types.Select(t => (t, t, result == StaticType.Dyn ? t : result))];

        const StaticType S = StaticType.String, B = StaticType.Bool, I = StaticType.Int, U = StaticType.Uint, D = StaticType.Double, Y = StaticType.Bytes, L = StaticType.List, M = StaticType.Map, X = StaticType.Dyn;

        Add2("_+_", false, CelOps.Add, Same(X, I, U, D, S, Y, L));
        Add2("_-_", false, CelOps.Subtract, Same(X, I, U, D));
        Add2("_*_", false, CelOps.Multiply, Same(X, I, U, D));
        Add2("_/_", false, CelOps.Divide, Same(X, I, U, D));
        Add2("_%_", false, CelOps.Modulo, Same(X, I, U));
        Add1("-_", false, CelOps.Negate, (I, I), (D, D));
        Add1("!_", false, CelOps.Not, (B, B));

        var ordered = Numbers.SelectMany(a => Numbers.Select(b => (a, b, B))).Concat(Same(B, S, Y, B)).ToArray();
        Add2("_<_", false, (a, b, o) => CelOps.Relation(a, b, o, "<", s => s < 0), ordered);
        Add2("_<=_", false, (a, b, o) => CelOps.Relation(a, b, o, "<=", s => s <= 0), ordered);
        Add2("_>_", false, (a, b, o) => CelOps.Relation(a, b, o, ">", s => s > 0), ordered);
        Add2("_>=_", false, (a, b, o) => CelOps.Relation(a, b, o, ">=", s => s >= 0), ordered);
        Add2("@in", false, CelOps.In, (X, L, B), (X, M, B));

        foreach (var receiver in new[] { false, true })
        {
            Add1("size", receiver, CelOps.Size, (S, I), (Y, I), (L, I), (M, I));
        }

        Add2("contains", true, (a, b, o) => CelOps.StringTest(a, b, o, "contains", (x, y) => x.Contains(y, StringComparison.Ordinal)), (S, S, B));
        Add2("startsWith", true, (a, b, o) => CelOps.StringTest(a, b, o, "startsWith", (x, y) => x.StartsWith(y, StringComparison.Ordinal)), (S, S, B));
        Add2("endsWith", true, (a, b, o) => CelOps.StringTest(a, b, o, "endsWith", (x, y) => x.EndsWith(y, StringComparison.Ordinal)), (S, S, B));
        Add2("matches", true, CelOps.Matches, (S, S, B));
        Add2("matches", false, CelOps.Matches, (S, S, B));

        Add1("int", false, CelOps.ToInt, (I, I), (U, I), (D, I), (S, I));
        Add1("uint", false, CelOps.ToUint, (I, U), (U, U), (D, U), (S, U));
        Add1("double", false, CelOps.ToDouble, (I, D), (U, D), (D, D), (S, D));
        Add1("string", false, CelOps.ToStringValue, (I, S), (U, S), (D, S), (S, S), (B, S), (Y, S), (StaticType.Type, S));
        Add1("bytes", false, CelOps.ToBytes, (S, Y), (Y, Y));
        Add1("bool", false, CelOps.ToBool, (B, B), (S, B));
        Add1("type", false, (a, _) => CelOps.TypeOf(a), (X, StaticType.Type));
        Add1("dyn", false, (a, _) => a, (X, X));
        return all;
    }
}
