using System.Text.Json;

namespace Actionflow.Api.Validation;

/// <summary>
/// What a JSON request body may not hold although it parses: things every later read of it throws on, from the
/// endpoint to the engine and the response writer. Found before anything reads the body.
/// </summary>
public static class JsonText
{
    public const string LoneSurrogate =
        "contains an escaped lone surrogate (\\uD800-\\uDFFF without its other half), which is not text: nothing could write it back";

    /// <summary>
    /// The top-level field (or <c>body</c>) at fault, and why, or null: a string or key that escapes half a surrogate
    /// pair, or an object with the same key twice (compared without regard to case, as the API binds them). Stops
    /// quietly at the first syntax error or beyond the reader's depth: the binder reports those with the field.
    /// </summary>
    public static (string Field, string Message)? FindProblem(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var keys = new Stack<HashSet<string>>();
        string? field = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(new HashSet<string>(StringComparer.OrdinalIgnoreCase));
                        break;
                    case JsonTokenType.EndObject:
                        keys.Pop();
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped && !TryGetString(ref reader, out _):
                        return (field ?? "body", LoneSurrogate);
                    case JsonTokenType.PropertyName:
                        var top = reader.CurrentDepth == 1;
                        if (!TryGetString(ref reader, out var name))
                        {
                            return (top ? "body" : field ?? "body", LoneSurrogate);
                        }

                        if (top)
                        {
                            field = name;
                        }

                        if (!keys.Peek().Add(name))
                        {
                            return (top ? "body" : field ?? "body", $"has the key '{name}' twice (keys are compared without regard to case)");
                        }

                        break;
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static bool TryGetString(ref Utf8JsonReader reader, out string value)
    {
        try
        {
            value = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = "";
            return false;
        }
    }
}
