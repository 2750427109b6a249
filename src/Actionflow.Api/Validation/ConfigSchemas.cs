using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Json.Schema;

namespace Actionflow.Api.Validation;

/// <summary>
/// A template's config schema, compiled once: what <c>config_data</c> must look like, which fields are secret
/// (<c>writeOnly</c>), which are maps whose values are secret (<c>additionalProperties.writeOnly</c>, e.g. Webhook
/// headers) and which are required.
/// </summary>
public sealed class CompiledConfigSchema(JsonSchema? schema, IReadOnlySet<string> secrets, IReadOnlyList<string> required, IReadOnlySet<string>? secretMaps = null)
{
    /// <summary>What a response shows for a secret that is set.</summary>
    public const string Mask = "********";

    public IReadOnlySet<string> Secrets { get; } = secrets;

    /// <summary>Fields that are objects whose every value is secret; their keys stay readable.</summary>
    public IReadOnlySet<string> SecretMaps { get; } = secretMaps ?? new HashSet<string>(StringComparer.Ordinal);

    public IReadOnlyList<string> Required { get; } = required;

    /// <summary>
    /// Checks types, ranges and formats always; required fields only when <paramref name="complete"/> (the step is
    /// in an active workflow): Diffgram's builder creates a step first and fills its config afterwards.
    /// </summary>
    public void Validate(JsonObject config, bool complete, FieldErrors errors, string prefix = "config_data")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        if (schema is not null)
        {
            var results = schema.Evaluate(JsonSerializer.SerializeToElement(config), new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!results.IsValid)
            {
                foreach (var detail in results.Details ?? [])
                {
                    if (detail.Errors is null)
                    {
                        continue;
                    }

                    foreach (var message in detail.Errors.Values)
                    {
                        errors.Add(Field(prefix, detail.InstanceLocation.ToString()), message);
                    }
                }

                if (results.Errors is { Count: > 0 } rootErrors)
                {
                    foreach (var message in rootErrors.Values)
                    {
                        errors.Add(prefix, message);
                    }
                }
            }
        }

        if (complete)
        {
            foreach (var name in Required)
            {
                if (config[name] is null || (config[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && string.IsNullOrWhiteSpace(v.GetValue<string>())))
                {
                    errors.Add($"{prefix}.{name}", "is required while the workflow is active");
                }
            }
        }
    }

    /// <summary>The config as responses show it: secrets that are set read <see cref="Mask"/>.</summary>
    public JsonObject MaskSecrets(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var masked = (JsonObject)config.DeepClone();
        foreach (var name in Secrets)
        {
            if (masked[name] is not null)
            {
                masked[name] = Mask;
            }
        }

        foreach (var name in SecretMaps)
        {
            if (masked[name] is JsonObject map)
            {
                foreach (var key in map.Where(e => e.Value is not null).Select(e => e.Key).ToList())
                {
                    map[key] = Mask;
                }
            }
        }

        return masked;
    }

    /// <summary>
    /// The config to store from one sent by a client: a secret left out or sent back as <see cref="Mask"/> keeps the
    /// stored value (Diffgram's UI autosaves the whole action); an explicit null clears it.
    /// </summary>
    public JsonObject KeepSecrets(JsonObject incoming, JsonObject? stored)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        var result = (JsonObject)incoming.DeepClone();
        foreach (var name in Secrets)
        {
            var sentMask = result[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == Mask;
            if (result.ContainsKey(name) && !sentMask)
            {
                continue;
            }

            if (stored?[name] is { } kept)
            {
                result[name] = kept.DeepClone();
            }
            else
            {
                result.Remove(name);
            }
        }

        foreach (var name in SecretMaps)
        {
            if (!result.ContainsKey(name))
            {
                // Left out, as a secret is: the stored map stays.
                if (stored?[name] is { } keptMap)
                {
                    result[name] = keptMap.DeepClone();
                }

                continue;
            }

            if (result[name] is not JsonObject sent)
            {
                continue;
            }

            // The map sent is the new set of keys; a value sent back as the mask keeps the stored one (none: dropped).
            var storedMap = stored?[name] as JsonObject;
            foreach (var key in sent.Where(e => IsMask(e.Value)).Select(e => e.Key).ToList())
            {
                if (StoredValue(storedMap, key) is { } kept)
                {
                    sent[key] = kept.DeepClone();
                }
                else
                {
                    sent.Remove(key);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The config to store: every secret field (and secret map value) set in clear is replaced by <paramref name="seal"/>
    /// of it; values already sealed (kept from the stored config) stay as they are.
    /// </summary>
    public JsonObject SealSecrets(JsonObject config, Func<string, string> seal)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(seal);
        var result = (JsonObject)config.DeepClone();
        foreach (var name in Secrets)
        {
            if (result[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && !Core.Secrets.SecretCipher.IsSealed(v.GetValue<string>()))
            {
                result[name] = seal(v.GetValue<string>());
            }
        }

        foreach (var name in SecretMaps)
        {
            if (result[name] is JsonObject map)
            {
                foreach (var (key, value) in map.ToList())
                {
                    if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String && !Core.Secrets.SecretCipher.IsSealed(v.GetValue<string>()))
                    {
                        map[key] = seal(v.GetValue<string>());
                    }
                }
            }
        }

        return result;
    }

    private static bool IsMask(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == Mask;

    /// <summary>The stored value of a map key: exact first, then ignoring case (header names are case-insensitive).</summary>
    private static JsonNode? StoredValue(JsonObject? map, string key) =>
        map is null ? null
        : map[key] ?? map.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase) && e.Value is not null).Value;

    private static string Field(string prefix, string pointer)
    {
        if (string.IsNullOrEmpty(pointer) || pointer == "/" || pointer == "#")
        {
            return prefix;
        }

        var path = pointer.TrimStart('#').TrimStart('/').Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        return prefix + "." + path.Replace('/', '.');
    }
}

/// <summary>Compiled config schemas by template kind and schema text (templates change only at a worker's start).</summary>
public sealed class ConfigSchemas
{
    private readonly ConcurrentDictionary<string, CompiledConfigSchema> _cache = new(StringComparer.Ordinal);

    public CompiledConfigSchema For(ActionTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var text = template.ConfigSchema.ToJsonString();
        return _cache.GetOrAdd(template.Kind + "\n" + text, _ => Compile(template.Kind, template.ConfigSchema, text));
    }

    private static CompiledConfigSchema Compile(string kind, JsonObject schemaNode, string text)
    {
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        var secretMaps = new HashSet<string>(StringComparer.Ordinal);
        if (schemaNode["properties"] is JsonObject properties)
        {
            foreach (var (name, property) in properties)
            {
                if (property is JsonObject p && IsWriteOnly(p))
                {
                    secrets.Add(name);
                }
                else if (property is JsonObject m && m["additionalProperties"] is JsonObject values && IsWriteOnly(values))
                {
                    secretMaps.Add(name);
                }
            }
        }

        var required = (schemaNode["required"] as JsonArray ?? []).Select(n => n?.GetValue<string>()).OfType<string>().ToList();
        var draft = (JsonObject)schemaNode.DeepClone();
        RemoveRequired(draft);
        JsonSchema? schema = null;
        if (draft.Count > 0)
        {
            var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
            var baseUri = new Uri($"https://actionflow.invalid/templates/{Uri.EscapeDataString(kind)}/{id}");
            schema = JsonSchema.Build(JsonSerializer.SerializeToElement(draft), new BuildOptions { SchemaRegistry = new SchemaRegistry() }, baseUri);
        }

        return new CompiledConfigSchema(schema, secrets, required, secretMaps);
    }

    private static bool IsWriteOnly(JsonObject schema) => schema["writeOnly"] is JsonValue w && w.GetValueKind() == JsonValueKind.True;

    private static void RemoveRequired(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                obj.Remove("required");
                foreach (var (_, child) in obj)
                {
                    RemoveRequired(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    RemoveRequired(child);
                }

                break;
        }
    }
}
