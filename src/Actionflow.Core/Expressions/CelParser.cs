namespace Actionflow.Core.Expressions;

/// <summary>The syntax tree, before names are resolved and types checked. Operators are calls (<c>_+_</c>, <c>!_</c>, ...).</summary>
internal abstract record Syntax(int Offset);

internal sealed record ConstSyntax(int Offset, CelValue Value) : Syntax(Offset);

internal sealed record IdentSyntax(int Offset, string Name) : Syntax(Offset);

internal sealed record SelectSyntax(int Offset, Syntax Operand, string Field, bool TestOnly) : Syntax(Offset);

internal sealed record IndexSyntax(int Offset, Syntax Operand, Syntax Index) : Syntax(Offset);

internal sealed record CallSyntax(int Offset, string Function, Syntax? Target, IReadOnlyList<Syntax> Args) : Syntax(Offset);

internal sealed record ListSyntax(int Offset, IReadOnlyList<Syntax> Items) : Syntax(Offset);

internal sealed record MapSyntax(int Offset, IReadOnlyList<(Syntax Key, Syntax Value)> Entries) : Syntax(Offset);

/// <summary>A macro over a list or map: <c>all</c>, <c>exists</c>, <c>exists_one</c>, <c>map</c> (with or without a filter), <c>filter</c>.</summary>
internal sealed record ComprehensionSyntax(int Offset, string Macro, Syntax Range, string Variable, int VariableOffset, Syntax? Predicate, Syntax? Transform) : Syntax(Offset);

/// <summary>
/// Recursive descent over CEL's grammar (cel-spec langdef.md): <c>?:</c> below <c>||</c> below <c>&amp;&amp;</c> below
/// relations (<c>== != &lt; &lt;= &gt; &gt;= in</c>, left-associative) below <c>+ -</c> below <c>* / %</c> below unary
/// <c>! -</c> below member access. Macros (<c>has</c>, <c>all</c>, ...) are recognized here, as CEL's parser does.
/// </summary>
internal sealed class CelParser
{
    private const int MaxDepth = 200;

    private static readonly HashSet<string> Reserved =
    [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
        "namespace", "return", "var", "void", "while",
    ];

    private static readonly Dictionary<string, string> Relations = new()
    {
        ["=="] = "_==_", ["!="] = "_!=_", ["<"] = "_<_", ["<="] = "_<=_", [">"] = "_>_", [">="] = "_>=_",
    };

    private readonly List<Token> _tokens;
    private int _pos;
    private int _depth;

    private CelParser(List<Token> tokens) => _tokens = tokens;

    public static Syntax Parse(string source)
    {
        var tokens = new CelLexer(source).Tokenize(out var lexError);
        if (lexError is not null)
        {
            throw lexError;
        }

        var parser = new CelParser(tokens);
        var expr = parser.Expr();
        return parser.Peek.Kind == TokenKind.End
            ? expr
            : throw new CelParseError(parser.Peek.Offset, $"unexpected {Describe(parser.Peek)} after the end of the expression");
    }

    private Token Peek => _tokens[_pos];

    private Token Advance() => _tokens[_pos++];

    private bool Accept(string punct)
    {
        if (Peek.Is(punct))
        {
            _pos++;
            return true;
        }

        return false;
    }

    private Token Expect(string punct, string what)
    {
        if (!Peek.Is(punct))
        {
            throw new CelParseError(Peek.Offset, $"expected '{punct}' {what}, found {Describe(Peek)}");
        }

        return Advance();
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.End => "the end of the expression",
        TokenKind.Punct => $"'{t.Text}'",
        TokenKind.Ident => $"'{t.Text}'",
        _ => "a literal",
    };

    private Syntax Expr()
    {
        if (++_depth > MaxDepth)
        {
            throw new CelParseError(Peek.Offset, $"expression nested more than {MaxDepth} levels deep");
        }

        var condition = Or();
        if (Peek.Is("?"))
        {
            var q = Advance();
            var whenTrue = Or();
            Expect(":", "in a conditional 'a ? b : c'");
            var whenFalse = Expr();
            condition = new CallSyntax(q.Offset, "_?_:_", null, [condition, whenTrue, whenFalse]);
        }

        _depth--;
        return condition;
    }

    private Syntax Or()
    {
        var left = And();
        while (Peek.Is("||"))
        {
            var op = Advance();
            left = new CallSyntax(op.Offset, "_||_", null, [left, And()]);
        }

        return left;
    }

    private Syntax And()
    {
        var left = Relation();
        while (Peek.Is("&&"))
        {
            var op = Advance();
            left = new CallSyntax(op.Offset, "_&&_", null, [left, Relation()]);
        }

        return left;
    }

    private Syntax Relation()
    {
        var left = Addition();
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.Punct && Relations.TryGetValue(t.Text, out var fn))
            {
                Advance();
                left = new CallSyntax(t.Offset, fn, null, [left, Addition()]);
            }
            else if (t.Kind == TokenKind.Ident && t.Text == "in")
            {
                Advance();
                left = new CallSyntax(t.Offset, "@in", null, [left, Addition()]);
            }
            else
            {
                return left;
            }
        }
    }

    private Syntax Addition()
    {
        var left = Multiplication();
        while (Peek.Is("+") || Peek.Is("-"))
        {
            var op = Advance();
            left = new CallSyntax(op.Offset, "_" + op.Text + "_", null, [left, Multiplication()]);
        }

        return left;
    }

    private Syntax Multiplication()
    {
        var left = Unary();
        while (Peek.Is("*") || Peek.Is("/") || Peek.Is("%"))
        {
            var op = Advance();
            left = new CallSyntax(op.Offset, "_" + op.Text + "_", null, [left, Unary()]);
        }

        return left;
    }

    private Syntax Unary()
    {
        // Iterative, so that a long run of '!' or '-' cannot exhaust the stack; the binder bounds the depth.
        var operators = new List<Token>();
        while (Peek.Is("!") || Peek.Is("-"))
        {
            operators.Add(Advance());
        }

        Syntax operand;
        if (operators.Count > 0 && operators[^1].Is("-") && Peek.Kind == TokenKind.Int && !IsFollowedByMember())
        {
            var minus = operators[^1];
            operators.RemoveAt(operators.Count - 1);
            var magnitude = Advance().Value.AsUint;
            var value = magnitude == (ulong)long.MaxValue + 1 ? long.MinValue : -(long)magnitude;
            operand = Member(new ConstSyntax(minus.Offset, CelValue.Int(value)));
        }
        else
        {
            operand = Member(Primary());
        }

        for (var i = operators.Count - 1; i >= 0; i--)
        {
            operand = new CallSyntax(operators[i].Offset, operators[i].Text + "_", null, [operand]);
        }

        return operand;
    }

    /// <summary><c>-1.size()</c> style: a member call binds tighter than the minus, so the literal is not folded.</summary>
    private bool IsFollowedByMember() => _tokens[_pos + 1].Is(".") || _tokens[_pos + 1].Is("[");

    private Syntax Member(Syntax operand)
    {
        while (true)
        {
            if (Peek.Is("."))
            {
                var dot = Advance();
                var name = Advance();
                if (name.Kind is not (TokenKind.Ident or TokenKind.QuotedIdent))
                {
                    throw new CelParseError(name.Offset, $"expected a field name after '.', found {Describe(name)}");
                }

                if (name.Kind == TokenKind.Ident && Peek.Is("("))
                {
                    Advance();
                    var args = Arguments();
                    operand = MemberCall(name, operand, args);
                }
                else
                {
                    operand = new SelectSyntax(dot.Offset, operand, name.Text, false);
                }
            }
            else if (Peek.Is("["))
            {
                var open = Advance();
                var index = Expr();
                Expect("]", "to close the index");
                operand = new IndexSyntax(open.Offset, operand, index);
            }
            else if (Peek.Is("{") && operand is IdentSyntax or SelectSyntax)
            {
                throw new CelParseError(Peek.Offset, "message construction (Type{field: value}) is not supported: there are no message types here; use a map {'field': value}");
            }
            else
            {
                return operand;
            }
        }
    }

    private static Syntax MemberCall(Token name, Syntax target, List<Syntax> args)
    {
        switch (name.Text)
        {
            case "all" or "exists" or "exists_one" or "filter" when args.Count == 2:
                return Comprehension(name, target, args[0], args[1], null);
            case "map" when args.Count is 2 or 3:
                return args.Count == 2
                    ? Comprehension(name, target, args[0], null, args[1])
                    : Comprehension(name, target, args[0], args[1], args[2]);
            default:
                return new CallSyntax(name.Offset, name.Text, target, args);
        }
    }

    private static ComprehensionSyntax Comprehension(Token name, Syntax range, Syntax variable, Syntax? predicate, Syntax? transform)
    {
        if (variable is not IdentSyntax ident)
        {
            throw new CelParseError(variable.Offset, $"the first argument of {name.Text}() must be a variable name, as in list.{name.Text}(x, ...)");
        }

        return new ComprehensionSyntax(name.Offset, name.Text, range, ident.Name, ident.Offset, predicate, transform);
    }

    private List<Syntax> Arguments()
    {
        var args = new List<Syntax>();
        if (Accept(")"))
        {
            return args;
        }

        do
        {
            args.Add(Expr());
        }
        while (Accept(","));
        Expect(")", "to close the argument list");
        return args;
    }

    private Syntax Primary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Int:
                Advance();
                return t.Value.AsUint > long.MaxValue
                    ? throw new CelParseError(t.Offset, "int literal out of range")
                    : new ConstSyntax(t.Offset, CelValue.Int((long)t.Value.AsUint));
            case TokenKind.Uint or TokenKind.Double or TokenKind.String or TokenKind.Bytes:
                Advance();
                return new ConstSyntax(t.Offset, t.Value);
            case TokenKind.Ident:
                return Identifier();
            case TokenKind.End:
                throw new CelParseError(t.Offset, "the expression ends too early: an operand is missing");
        }

        if (t.Is("."))
        {
            Advance();
            if (Peek.Kind != TokenKind.Ident)
            {
                throw new CelParseError(Peek.Offset, $"expected a name after a leading '.', found {Describe(Peek)}");
            }

            return Identifier();
        }

        if (t.Is("("))
        {
            Advance();
            var inner = Expr();
            Expect(")", "to close the parenthesis");
            return inner;
        }

        if (t.Is("["))
        {
            Advance();
            var items = new List<Syntax>();
            while (!Peek.Is("]"))
            {
                items.Add(Expr());
                if (!Accept(","))
                {
                    break;
                }
            }

            Expect("]", "to close the list");
            return new ListSyntax(t.Offset, items);
        }

        if (t.Is("{"))
        {
            Advance();
            var entries = new List<(Syntax, Syntax)>();
            while (!Peek.Is("}"))
            {
                var key = Expr();
                Expect(":", "between a map key and its value");
                entries.Add((key, Expr()));
                if (!Accept(","))
                {
                    break;
                }
            }

            Expect("}", "to close the map");
            return new MapSyntax(t.Offset, entries);
        }

        throw new CelParseError(t.Offset, $"unexpected {Describe(t)}: expected a value, a name or '('");
    }

    private Syntax Identifier()
    {
        var t = Advance();
        switch (t.Text)
        {
            case "true":
                return new ConstSyntax(t.Offset, CelValue.True);
            case "false":
                return new ConstSyntax(t.Offset, CelValue.False);
            case "null":
                return new ConstSyntax(t.Offset, CelValue.Null);
            case "in":
                throw new CelParseError(t.Offset, "'in' is an operator: write 'x in list'");
        }

        if (Reserved.Contains(t.Text))
        {
            throw new CelParseError(t.Offset, $"'{t.Text}' is a reserved word and cannot be used as a name");
        }

        if (!Peek.Is("("))
        {
            return new IdentSyntax(t.Offset, t.Text);
        }

        Advance();
        var args = Arguments();
        if (t.Text == "has")
        {
            return args is [SelectSyntax select]
                ? select with { TestOnly = true }
                : throw new CelParseError(t.Offset, "has() takes one field selection, as in has(event.extra_metadata.score)");
        }

        return new CallSyntax(t.Offset, t.Text, null, args);
    }
}
