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

/// <summary>What a runner's <see cref="ActionTemplateAttribute"/> declares, read without constructing it.</summary>
public sealed record ActionDescriptor(
    Type RunnerType,
    Type ConfigType,
    string Kind,
    string PublicName,
    string Description,
    string Icon,
    string? Category,
    IReadOnlyList<string> Triggers,
    IReadOnlyList<string> Preconditions,
    IReadOnlyList<string> CompletionEvents,
    RetryPolicy RetryPolicy)
{
    /// <summary>The event a success emits when neither the result nor the step names one.</summary>
    public string DefaultCompletionEvent => CompletionEvents[0];

    /// <summary>Reads and checks the declaration of <paramref name="runnerType"/>; throws saying what is wrong.</summary>
    public static ActionDescriptor Of(Type runnerType)
    {
        ArgumentNullException.ThrowIfNull(runnerType);
        var declared = runnerType.GetCustomAttribute<ActionTemplateAttribute>()
            ?? throw new InvalidOperationException($"Action runner {runnerType.FullName} declares no [ActionTemplate].");
        string Problem(string what) => $"Action runner {runnerType.FullName}: {what}.";
        if (string.IsNullOrWhiteSpace(declared.Kind))
        {
            throw new InvalidOperationException(Problem("[ActionTemplate] declares an empty kind"));
        }

        if (declared.Triggers is not { Length: > 0 } || declared.Triggers.Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidOperationException(Problem("[ActionTemplate] must list at least one trigger event (Triggers = [...]), none empty"));
        }

        if (declared.CompletionEvents is not { Length: > 0 } || declared.CompletionEvents.Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidOperationException(Problem("[ActionTemplate] must list at least one completion event (the default is action_completed), none empty"));
        }

        if ((declared.Preconditions ?? []).Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidOperationException(Problem("[ActionTemplate] lists an empty precondition"));
        }

        RetryPolicy retry;
        try
        {
            retry = declared.RetryPolicy.Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidOperationException(Problem("[ActionTemplate] retry settings: " + ex.Message), ex);
        }

        return new ActionDescriptor(runnerType, ConfigTypeOf(runnerType), declared.Kind, declared.PublicName, declared.Description, declared.Icon ?? "", declared.Category,
            [.. declared.Triggers.Distinct(StringComparer.Ordinal)], [.. (declared.Preconditions ?? []).Distinct(StringComparer.Ordinal)],
            [.. declared.CompletionEvents.Distinct(StringComparer.Ordinal)], retry);
    }

    /// <summary>The <c>TConfig</c> of <c>ActionRunner&lt;TConfig&gt;</c>, found by walking the base types.</summary>
    private static Type ConfigTypeOf(Type runnerType)
    {
        for (var t = runnerType; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ActionRunner<>))
            {
                return t.GetGenericArguments()[0];
            }
        }

        throw new InvalidOperationException($"{runnerType.FullName} does not derive from ActionRunner<TConfig>.");
    }
}

/// <summary>The registered runners by kind, their declarations, and the templates they publish.</summary>
public sealed class RunnerRegistry
{
    private readonly Dictionary<string, ActionDescriptor> _byKind;

    /// <param name="runnerTypes">The runners registered with <c>AddActionRunner</c>.</param>
    public RunnerRegistry(IEnumerable<Type> runnerTypes)
    {
        ArgumentNullException.ThrowIfNull(runnerTypes);
        _byKind = new Dictionary<string, ActionDescriptor>(StringComparer.Ordinal);
        var templates = new List<ActionTemplate>();
        foreach (var runnerType in runnerTypes.Distinct())
        {
            var descriptor = ActionDescriptor.Of(runnerType);
            if (_byKind.TryGetValue(descriptor.Kind, out var existing))
            {
                throw new InvalidOperationException(
                    $"Action kind '{descriptor.Kind}' is declared by both {existing.RunnerType.FullName} and {runnerType.FullName}; kinds must be unique.");
            }

            _byKind.Add(descriptor.Kind, descriptor);
            templates.Add(ToTemplate(descriptor));
        }

        Templates = templates;
    }

    public IReadOnlyList<ActionTemplate> Templates { get; }

    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    /// <summary>The declaration of <paramref name="kind"/>; null when no runner of that kind is registered.</summary>
    public ActionDescriptor? Find(string kind) => _byKind.GetValueOrDefault(kind);

    /// <summary>A runner of <paramref name="descriptor"/>'s type from the run's scope.</summary>
    public static ActionRunner Resolve(ActionDescriptor descriptor, IServiceProvider scopedServices)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return (ActionRunner)scopedServices.GetRequiredService(descriptor.RunnerType);
    }

    /// <summary>
    /// The runner's own rules over <paramref name="config"/> (<see cref="ActionRunner{TConfig}.ValidateConfig"/>); throws
    /// <see cref="JsonException"/> when the config does not fit the runner's config type.
    /// </summary>
    public static IReadOnlyList<ConfigProblem> ValidateConfig(ActionRunner runner, JsonObject? config, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return runner.Validate(runner.ReadConfig(config, options)).ToList();
    }

    public static ActionTemplate ToTemplate(ActionDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return new ActionTemplate
        {
            Kind = descriptor.Kind,
            PublicName = descriptor.PublicName,
            Description = descriptor.Description,
            Icon = descriptor.Icon,
            Category = descriptor.Category,
            TriggerData = ToJson(descriptor.Triggers),
            ConditionData = ToJson(descriptor.Preconditions),
            CompletionConditionData = ToJson(descriptor.CompletionEvents),
            ConfigSchema = ConfigSchema(descriptor.ConfigType),
        };
    }

    /// <summary>Diffgram's template shape: <c>{default_event_name, event_list: [{name, value}]}</c>.</summary>
    /// <remarks>The first event of the list is its default; an empty list has none.</remarks>
    public static JsonObject ToJson(IReadOnlyList<string> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var list = new JsonArray();
        foreach (var e in events)
        {
            list.Add(new JsonObject { ["name"] = e, ["value"] = e });
        }

        return new JsonObject { ["default_event_name"] = events.Count > 0 ? events[0] : null, ["event_list"] = list };
    }

    /// <summary>
    /// The JSON Schema of a config type, in snake_case: <see cref="SecretAttribute"/> properties are <c>writeOnly</c> (a
    /// map's values, for a dictionary); <see cref="RequiredAttribute"/>, <see cref="RangeAttribute"/>,
    /// <see cref="RegularExpressionAttribute"/> and <see cref="DescriptionAttribute"/> become <c>required</c>,
    /// <c>minimum</c>/<c>maximum</c>, <c>pattern</c> and <c>description</c>.
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

        if (provider.GetCustomAttributes(typeof(RegularExpressionAttribute), inherit: true) is [RegularExpressionAttribute regex, ..])
        {
            schema["pattern"] = regex.Pattern;
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

}
