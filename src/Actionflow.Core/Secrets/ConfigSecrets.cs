using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Actionflow.Core.Secrets;

/// <summary>Opens a project's secrets by name, at execution only (the engine's port; the database implements it).</summary>
public interface ISecretSource
{
    /// <summary>The values of those of <paramref name="names"/> the project has; names it lacks are left out.</summary>
    Task<IReadOnlyDictionary<string, string>> OpenAsync(long projectId, IReadOnlyCollection<string> names, CancellationToken cancellationToken);
}

/// <summary>
/// What a step's config holds of secrets, and the config a runner sees: sealed <c>[Secret]</c> fields opened and every
/// <c>{{ secrets.NAME }}</c> replaced by the project's secret. Every value revealed is collected so the outcome can be
/// redacted (<see cref="SecretRedactor"/>).
/// </summary>
public static partial class ConfigSecrets
{
    public const string NamePattern = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";

    /// <summary>The names a config refers to as <c>{{ secrets.NAME }}</c>.</summary>
    public static IReadOnlySet<string> ReferencedNames(JsonNode? config)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in Strings(config))
        {
            foreach (Match m in Reference().Matches(text))
            {
                names.Add(m.Groups[1].Value);
            }
        }

        return names;
    }

    /// <summary>True when the config holds a sealed value or a secret reference: only then is anything opened.</summary>
    /// <remarks>Asked for every run: walks the tree directly, with no iterator per level.</remarks>
    public static bool Mentions(JsonNode? config)
    {
        switch (config)
        {
            // By index: enumerating an object boxes an enumerator, and every run asks this of its config.
            case JsonObject obj:
                for (var i = 0; i < obj.Count; i++)
                {
                    if (Mentions(obj.GetAt(i).Value))
                    {
                        return true;
                    }
                }

                return false;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (Mentions(array[i]))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var s = v.GetValue<string>();
                return SecretCipher.IsSealed(s) || s.Contains("secrets.", StringComparison.Ordinal);
            default:
                return false;
        }
    }

    /// <summary>
    /// The config with sealed values opened and references replaced; throws <see cref="SecretUnavailableException"/> naming
    /// a secret the project does not have, or a value that does not open.
    /// </summary>
    public static async Task<JsonObject> ResolveAsync(
        long projectId, JsonObject config, SecretKeyRing keys, ISecretSource source, ICollection<string> revealed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(revealed);

        // Sealed fields first: a sealed header value may itself refer to a secret ("Bearer {{ secrets.TOKEN }}").
        var resolved = (JsonObject)config.DeepClone();
        Rewrite(resolved, text =>
        {
            if (!SecretCipher.IsSealed(text))
            {
                return text;
            }

            var opened = SecretCipher.Open(keys, text, SecretCipher.ConfigScope(projectId));
            revealed.Add(opened);
            return opened;
        });

        var names = ReferencedNames(resolved);
        if (names.Count == 0)
        {
            return resolved;
        }

        var values = await source.OpenAsync(projectId, names, cancellationToken);
        var missing = names.Where(n => !values.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new SecretUnavailableException(
                $"config refers to {string.Join(", ", missing.Select(n => "secrets." + n))}, which this project does not have (set it with POST .../secrets)");
        }

        foreach (var value in values.Values)
        {
            revealed.Add(value);
        }

        Rewrite(resolved, text => Reference().Replace(text, m => values[m.Groups[1].Value]));
        return resolved;
    }

    /// <summary>Rewrites every string value of <paramref name="node"/> in place.</summary>
    public static void Rewrite(JsonNode? node, Func<string, string> rewrite)
    {
        ArgumentNullException.ThrowIfNull(rewrite);
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (obj[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        var before = v.GetValue<string>();
                        var after = rewrite(before);
                        if (!ReferenceEquals(before, after) && before != after)
                        {
                            obj[key] = after;
                        }
                    }
                    else
                    {
                        Rewrite(obj[key], rewrite);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        var before = v.GetValue<string>();
                        var after = rewrite(before);
                        if (before != after)
                        {
                            array[i] = after;
                        }
                    }
                    else
                    {
                        Rewrite(array[i], rewrite);
                    }
                }

                break;
        }
    }

    private static IEnumerable<string> Strings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    foreach (var s in Strings(child))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    foreach (var s in Strings(child))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                yield return v.GetValue<string>();
                break;
        }
    }

    [GeneratedRegex(@"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}

/// <summary>Replaces every revealed secret value in what a run records (output, error) with <c>********</c>.</summary>
public static class SecretRedactor
{
    public const string Mask = "********";

    /// <summary>Values shorter than this are not searched for: masking every "a" would wreck outputs and reveal the value by its holes.</summary>
    public const int MinLength = 4;

    public static string? Redact(string? text, IReadOnlyCollection<string> revealed)
    {
        if (string.IsNullOrEmpty(text) || revealed.Count == 0)
        {
            return text;
        }

        foreach (var value in Longest(revealed))
        {
            text = text.Replace(value, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>The output with the revealed values in its string values redacted (a copy; null stays null).</summary>
    public static JsonObject? Redact(JsonObject? output, IReadOnlyCollection<string> revealed)
    {
        if (output is null || revealed.Count == 0)
        {
            return output;
        }

        var copy = (JsonObject)output.DeepClone();
        var values = Longest(revealed);
        ConfigSecrets.Rewrite(copy, text => values.Aggregate(text, (t, v) => t.Replace(v, Mask, StringComparison.Ordinal)));
        return copy;
    }

    private static List<string> Longest(IReadOnlyCollection<string> revealed) =>
        revealed.Where(v => v.Length >= MinLength).Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length).ToList();
}
