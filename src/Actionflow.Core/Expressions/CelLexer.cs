using System.Globalization;
using System.Text;

namespace Actionflow.Core.Expressions;

internal enum TokenKind
{
    End,
    Ident,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    QuotedIdent,
    Punct,
}

/// <summary>A token; <see cref="Text"/> is the operator or identifier, <see cref="Value"/> the literal's value.</summary>
internal readonly record struct Token(TokenKind Kind, int Offset, int Length, string Text, CelValue Value)
{
    public bool Is(string punct) => Kind == TokenKind.Punct && Text == punct;
}

/// <summary>CEL's lexical grammar: numbers (decimal, hex, <c>u</c> suffix, doubles), strings (quoted, triple-quoted, raw, bytes), operators.</summary>
internal sealed class CelLexer
{
    private static readonly string[] Puncts = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}"];

    private readonly string _src;
    private int _pos;

    public CelLexer(string source) => _src = source;

    /// <summary>All tokens, ending with <see cref="TokenKind.End"/>; or the first lexical error.</summary>
    public List<Token> Tokenize(out CelParseError? error)
    {
        var tokens = new List<Token>();
        error = null;
        while (true)
        {
            SkipSpaceAndComments();
            if (_pos >= _src.Length)
            {
                tokens.Add(new Token(TokenKind.End, _src.Length, 0, "end of expression", default));
                return tokens;
            }

            try
            {
                tokens.Add(Next());
            }
            catch (CelParseError e)
            {
                error = e;
                return tokens;
            }
        }
    }

    private void SkipSpaceAndComments()
    {
        while (_pos < _src.Length)
        {
            var c = _src[_pos];
            if (c is ' ' or '\t' or '\n' or '\r' or '\f')
            {
                _pos++;
            }
            else if (c == '/' && _pos + 1 < _src.Length && _src[_pos + 1] == '/')
            {
                while (_pos < _src.Length && _src[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private Token Next()
    {
        var start = _pos;
        var c = _src[_pos];
        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _src.Length && char.IsAsciiDigit(_src[_pos + 1])))
        {
            return Number(start);
        }

        if (c is '"' or '\'')
        {
            return Quoted(start, raw: false, bytes: false);
        }

        if (c == '`')
        {
            var end = _src.IndexOf('`', _pos + 1);
            if (end < 0)
            {
                throw new CelParseError(start, "unterminated quoted field name");
            }

            _pos = end + 1;
            return new Token(TokenKind.QuotedIdent, start, _pos - start, _src[(start + 1)..end], default);
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            var prefixEnd = _pos;
            while (prefixEnd < _src.Length && prefixEnd - _pos < 2 && _src[prefixEnd] is 'r' or 'R' or 'b' or 'B')
            {
                prefixEnd++;
            }

            if (prefixEnd > _pos && prefixEnd < _src.Length && _src[prefixEnd] is '"' or '\'')
            {
                var prefix = _src[_pos..prefixEnd].ToUpperInvariant();
                if (prefix is "R" or "B" or "RB" or "BR")
                {
                    _pos = prefixEnd;
                    return Quoted(start, raw: prefix.Contains('R', StringComparison.Ordinal), bytes: prefix.Contains('B', StringComparison.Ordinal));
                }
            }

            while (_pos < _src.Length && (char.IsAsciiLetterOrDigit(_src[_pos]) || _src[_pos] == '_'))
            {
                _pos++;
            }

            return new Token(TokenKind.Ident, start, _pos - start, _src[start.._pos], default);
        }

        foreach (var p in Puncts)
        {
            if (string.CompareOrdinal(_src, _pos, p, 0, p.Length) == 0)
            {
                _pos += p.Length;
                return new Token(TokenKind.Punct, start, p.Length, p, default);
            }
        }

        throw new CelParseError(start, $"unexpected character '{c}'");
    }

    private Token Number(int start)
    {
        if (_src[_pos] == '0' && _pos + 1 < _src.Length && _src[_pos + 1] is 'x' or 'X')
        {
            _pos += 2;
            var digitsStart = _pos;
            while (_pos < _src.Length && char.IsAsciiHexDigit(_src[_pos]))
            {
                _pos++;
            }

            var hex = _src[digitsStart.._pos];
            if (hex.Length == 0)
            {
                throw new CelParseError(start, "hexadecimal literal without digits");
            }

            if (_pos < _src.Length && _src[_pos] is 'u' or 'U')
            {
                _pos++;
                return ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var u)
                    ? new Token(TokenKind.Uint, start, _pos - start, _src[start.._pos], CelValue.Uint(u))
                    : throw new CelParseError(start, "uint literal out of range");
            }

            return ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h)
                ? IntToken(start, h)
                : throw new CelParseError(start, "int literal out of range");
        }

        var isDouble = false;
        while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
        {
            _pos++;
        }

        if (_pos + 1 < _src.Length && _src[_pos] == '.' && char.IsAsciiDigit(_src[_pos + 1]))
        {
            isDouble = true;
            _pos++;
            while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
            {
                _pos++;
            }
        }

        if (_pos < _src.Length && _src[_pos] is 'e' or 'E')
        {
            var save = _pos;
            _pos++;
            if (_pos < _src.Length && _src[_pos] is '+' or '-')
            {
                _pos++;
            }

            if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
            {
                isDouble = true;
                while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
                {
                    _pos++;
                }
            }
            else
            {
                _pos = save;
            }
        }

        var text = _src[start.._pos];
        if (isDouble)
        {
            return new Token(TokenKind.Double, start, _pos - start, text, CelValue.Double(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }

        if (_pos < _src.Length && _src[_pos] is 'u' or 'U')
        {
            _pos++;
            return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u)
                ? new Token(TokenKind.Uint, start, _pos - start, _src[start.._pos], CelValue.Uint(u))
                : throw new CelParseError(start, "uint literal out of range");
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? IntToken(start, n)
            : throw new CelParseError(start, "int literal out of range");
    }

    /// <summary>
    /// An int literal up to 2^63 is kept as its magnitude: the parser folds a leading minus so that
    /// <c>-9223372036854775808</c> is valid, and rejects 2^63 anywhere else.
    /// </summary>
    private Token IntToken(int start, ulong magnitude)
    {
        if (magnitude > (ulong)long.MaxValue + 1)
        {
            throw new CelParseError(start, "int literal out of range");
        }

        return new Token(TokenKind.Int, start, _pos - start, _src[start.._pos], CelValue.Uint(magnitude));
    }

    private Token Quoted(int start, bool raw, bool bytes)
    {
        var quote = _src[_pos];
        var triple = _pos + 2 < _src.Length && _src[_pos + 1] == quote && _src[_pos + 2] == quote;
        _pos += triple ? 3 : 1;
        var buffer = new List<byte>();
        var text = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _src.Length)
            {
                throw new CelParseError(start, "unterminated string");
            }

            var c = _src[_pos];
            if (c == quote && (!triple || (_pos + 2 < _src.Length && _src[_pos + 1] == quote && _src[_pos + 2] == quote)))
            {
                _pos += triple ? 3 : 1;
                break;
            }

            if (!triple && c is '\n' or '\r')
            {
                throw new CelParseError(start, "newline in a single-quoted string; use a triple-quoted string");
            }

            if (c == '\\' && !raw)
            {
                Escape(start, bytes, buffer, text);
                continue;
            }

            if (bytes)
            {
                var rune = Rune.GetRuneAt(_src, _pos);
                var n = rune.EncodeToUtf8(utf8);
                for (var i = 0; i < n; i++)
                {
                    buffer.Add(utf8[i]);
                }

                _pos += rune.Utf16SequenceLength;
            }
            else
            {
                text.Append(c);
                _pos++;
            }
        }

        return bytes
            ? new Token(TokenKind.Bytes, start, _pos - start, "", CelValue.Bytes([.. buffer]))
            : new Token(TokenKind.String, start, _pos - start, "", CelValue.String(text.ToString()));
    }

    private void Escape(int start, bool bytes, List<byte> buffer, StringBuilder text)
    {
        var at = _pos;
        _pos++;
        if (_pos >= _src.Length)
        {
            throw new CelParseError(start, "unterminated string");
        }

        var e = _src[_pos++];
        int code;
        switch (e)
        {
            case 'a': code = 7; break;
            case 'b': code = 8; break;
            case 'f': code = 12; break;
            case 'n': code = 10; break;
            case 'r': code = 13; break;
            case 't': code = 9; break;
            case 'v': code = 11; break;
            case '\\' or '?' or '"' or '\'' or '`': code = e; break;
            case 'x' or 'X':
                code = ReadDigits(at, 2, 16);
                break;
            case 'u' when !bytes:
                code = ReadDigits(at, 4, 16);
                break;
            case 'U' when !bytes:
                code = ReadDigits(at, 8, 16);
                break;
            case >= '0' and <= '3':
                _pos--;
                code = ReadDigits(at, 3, 8);
                break;
            default:
                throw new CelParseError(at, $"invalid escape sequence '\\{e}'");
        }

        if (bytes)
        {
            buffer.Add((byte)code);
            return;
        }

        if (code is >= 0xD800 and <= 0xDFFF || code > 0x10FFFF)
        {
            throw new CelParseError(at, "escape sequence is not a valid code point");
        }

        text.Append(char.ConvertFromUtf32(code));
    }

    private int ReadDigits(int at, int count, int radix)
    {
        if (_pos + count > _src.Length)
        {
            throw new CelParseError(at, "incomplete escape sequence");
        }

        var digits = _src.AsSpan(_pos, count);
        var value = 0;
        foreach (var d in digits)
        {
            var v = d switch
            {
                >= '0' and <= '9' => d - '0',
                >= 'a' and <= 'f' => d - 'a' + 10,
                >= 'A' and <= 'F' => d - 'A' + 10,
                _ => 99,
            };
            if (v >= radix)
            {
                throw new CelParseError(at, "invalid escape sequence");
            }

            value = (value * radix) + v;
        }

        _pos += count;
        return value;
    }
}

/// <summary>Thrown inside the parser only, caught at <see cref="CelEnvironment.Compile"/> and turned into a diagnostic.</summary>
#pragma warning disable CA1032, CA1064 // internal control flow of the parser, never surfaces
internal sealed class CelParseError(int offset, string message) : Exception(message)
#pragma warning restore CA1032, CA1064
{
    public int Offset { get; } = offset;
}
