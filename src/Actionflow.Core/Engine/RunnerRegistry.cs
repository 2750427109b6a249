using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Core.Engine;

/// <summary>The registered runners by kind, and the templates they declare.</summary>
public sealed class RunnerRegistry
{
    private readonly Dictionary<string, Type> _byKind;

    public RunnerRegistry(IEnumerable<ActionRunnerRegistration> registrations, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        _byKind = new Dictionary<string, Type>(StringComparer.Ordinal);
        var templates = new List<ActionTemplate>();
        using var scope = services.CreateScope();
        foreach (var registration in registrations.DistinctBy(r => r.RunnerType))
        {
            var runner = (ActionRunner)scope.ServiceProvider.GetRequiredService(registration.RunnerType);
            if (string.IsNullOrWhiteSpace(runner.Kind))
            {
                throw new InvalidOperationException($"Action runner {registration.RunnerType.FullName} declares an empty Kind.");
            }

            if (_byKind.TryGetValue(runner.Kind, out var existing))
            {
                throw new InvalidOperationException(
                    $"Action kind '{runner.Kind}' is declared by both {existing.FullName} and {registration.RunnerType.FullName}; kinds must be unique.");
            }

            _byKind.Add(runner.Kind, registration.RunnerType);
            templates.Add(ToTemplate(runner));
        }

        Templates = templates;
    }

    public IReadOnlyList<ActionTemplate> Templates { get; }

    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    public ActionRunner? Resolve(string kind, IServiceProvider scopedServices) =>
        _byKind.TryGetValue(kind, out var type) ? (ActionRunner)scopedServices.GetRequiredService(type) : null;

    public static ActionTemplate ToTemplate(ActionRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return new ActionTemplate
        {
            Kind = runner.Kind,
            PublicName = runner.PublicName,
            Description = runner.Description,
            Icon = runner.Icon,
            Category = runner.Category,
            TriggerData = ToJson(runner.Trigger),
            ConditionData = ToJson(runner.Precondition),
            CompletionConditionData = ToJson(runner.Completion),
            ConfigSchema = ConfigSchema(runner.ConfigType),
        };
    }

    /// <summary>Diffgram's template shape: <c>{default_event_name, event_list: [{name, value}]}</c>.</summary>
    public static JsonObject ToJson(ActionEventList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var events = new JsonArray();
        foreach (var e in list.Events)
        {
            events.Add(new JsonObject { ["name"] = e, ["value"] = e });
        }

        return new JsonObject { ["default_event_name"] = list.DefaultEventName, ["event_list"] = events };
    }

    /// <summary>
    /// The JSON Schema of a config type, in snake_case: <see cref="SecretAttribute"/> properties are <c>writeOnly</c> (a
    /// map's values, for a dictionary);
    /// <see cref="RequiredAttribute"/>, <see cref="RangeAttribute"/> and <see cref="DescriptionAttribute"/> become
    /// <c>required</c>, <c>minimum</c>/<c>maximum</c> and <c>description</c>.
    /// </summary>
    public static JsonObject ConfigSchema(Type configType)
    {
        var exporterOptions = new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, node) =>
            {
                if (node is not JsonObject obj)
                {
                    return node;
                }

                if (context.PropertyInfo?.AttributeProvider is ICustomAttributeProvider provider)
                {
                    DescribeProperty(obj, provider);
                }
                else if (context.PropertyInfo is null && context.TypeInfo.Kind == JsonTypeInfoKind.Object)
                {
                    var required = context.TypeInfo.Properties
                        .Where(p => p.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
                        .Select(p => p.Name)
                        .ToList();
                    if (required.Count > 0)
                    {
                        var list = obj["required"] as JsonArray ?? [];
                        foreach (var name in required.Where(n => !list.Any(e => (string?)e == n)))
                        {
                            list.Add(name);
                        }

                        obj["required"] = list;
                    }
                }

                return node;
            },
        };
        var schema = JsonDefaults.SnakeCase.GetJsonSchemaAsNode(configType, exporterOptions);
        return schema as JsonObject ?? new JsonObject { ["type"] = "object" };
    }

    private static void DescribeProperty(JsonObject schema, ICustomAttributeProvider provider)
    {
        if (provider.IsDefined(typeof(SecretAttribute), inherit: true))
        {
            // On a map (e.g. Webhook headers) the values are the secrets; the names stay readable.
            if (schema["additionalProperties"] is JsonObject values)
            {
                values["writeOnly"] = true;
            }
            else
            {
                schema["writeOnly"] = true;
            }
        }

        if (provider.GetCustomAttributes(typeof(RangeAttribute), inherit: true) is [RangeAttribute range, ..])
        {
            if (Number(range.Minimum) is { } min)
            {
                schema["minimum"] = min;
            }

            if (Number(range.Maximum) is { } max)
            {
                schema["maximum"] = max;
            }
        }

        if (!schema.ContainsKey("description")
            && provider.GetCustomAttributes(typeof(DescriptionAttribute), inherit: true) is [DescriptionAttribute { Description.Length: > 0 } description, ..])
        {
            schema["description"] = description.Description;
        }
    }

    private static JsonValue? Number(object? value) => value switch
    {
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d when double.IsFinite(d) => JsonValue.Create(d),
        _ => null,
    };

    internal static object ReadConfig(ActionRunner runner, JsonObject configData) =>
        runner.ReadConfig(JsonSerializer.SerializeToElement(configData, JsonDefaults.SnakeCase), JsonDefaults.SnakeCase);
}
