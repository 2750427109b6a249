using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Actionflow.Sdk;
using Fluid;
using Fluid.Values;
using Microsoft.Extensions.FileProviders;

namespace Actionflow.Actions.Templating;

/// <summary>A template that cannot be parsed or rendered; the message says where and why, never quoting a value.</summary>
public sealed class TemplateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Liquid (Fluid) templates in action configs, over <c>event</c> (Diffgram's event shape, <c>extra_metadata</c>
/// included) and <c>previous</c> (the output of the step that completed, for an <c>action_completed</c> event).
/// Strict: an unknown variable or filter is an error (at save where it can be seen, else at run); no includes (no
/// file provider); at most 10,000 steps per render. Parsed once per distinct text and cached (configs change rarely).
/// <c>{{ secrets.NAME }}</c> never reaches here: the engine replaces it before the action runs.
/// </summary>
public static partial class LiquidTemplates
{
    private const int MaxCached = 10_000;
    private static readonly FluidParser Parser = new(new FluidParserOptions { AllowFunctions = false });
    private static readonly ConcurrentDictionary<string, IFluidTemplate> Cache = new(StringComparer.Ordinal);
    // secrets.NAME is replaced by the engine before the action runs; it is named here so that a config may use it.
    private static readonly HashSet<string> Roots = new(StringComparer.Ordinal) { "event", "previous", "secrets" };

    private static readonly TemplateOptions Options = CreateOptions();

    /// <summary>True when the text has Liquid markup (otherwise it is used as it is).</summary>
    public static bool IsTemplate(string? text) =>
        text is not null && (text.Contains("{{", StringComparison.Ordinal) || text.Contains("{%", StringComparison.Ordinal));

    /// <summary>Why <paramref name="text"/> is not a usable template, or null: a syntax error, or a variable other than <c>event</c> and <c>previous</c>.</summary>
    public static string? Problem(string? text)
    {
        if (!IsTemplate(text))
        {
            return null;
        }

        if (!Parser.TryParse(text, out _, out var error))
        {
            return "is not a valid Liquid template: " + error;
        }

        // Variables made inside the template (assign, capture, for) cannot be told from typos without evaluating it.
        if (!text!.Contains("{%", StringComparison.Ordinal))
        {
            foreach (Match m in OutputRoot().Matches(text))
            {
                var root = m.Groups[1].Value;
                if (!Roots.Contains(root) && root is not ("true" or "false" or "nil" or "null" or "empty" or "blank"))
                {
                    return $"uses '{root}', which templates do not have (they see event and previous)";
                }
            }
        }

        return null;
    }

    /// <summary>The variables a step's templates see: <c>event</c> and <c>previous</c>.</summary>
    public static TemplateModel ModelOf(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new TemplateModel(ToClr(context.Event.Payload), ToClr(PreviousOf(context.Event)));
    }

    /// <summary>
    /// The output of the step whose completion triggered this one: the <c>extra_metadata</c> of a completion event
    /// (<c>action_completed</c>, or <c>export_generate_success</c> after an export); empty for any other event.
    /// </summary>
    public static System.Text.Json.Nodes.JsonObject PreviousOf(ActionEvent ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return ev.Kind is EventKinds.ActionCompleted or EventKinds.ExportGenerateSuccess ? ev.ExtraMetadata : [];
    }

    /// <summary>
    /// Renders <paramref name="text"/> (as it is when it has no markup). <paramref name="html"/> encodes values for HTML
    /// (email bodies); otherwise they are written as they are. Throws <see cref="TemplateException"/> naming <paramref name="field"/>.
    /// </summary>
    public static string Render(string field, string? text, TemplateModel model, bool html = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (text is null || !IsTemplate(text))
        {
            return text ?? "";
        }

        var template = Parse(field, text);
        var context = new TemplateContext(Options);
        context.SetValue("event", FluidValue.Create(model.Event, Options));
        context.SetValue("previous", FluidValue.Create(model.Previous, Options));
        try
        {
            return template.Render(context, html ? HtmlEncoder.Default : NullEncoder.Default);
        }
        catch (FluidException ex) when (ex.Message.StartsWith("Undefined variable", StringComparison.Ordinal))
        {
            // Fluid names the AST node, not the variable: say what kind of mistake it is.
            throw new TemplateException($"{field}: the template failed: it uses a variable or member that does not exist (templates are strict)", ex);
        }
        catch (Exception ex) when (ex is FluidException or InvalidOperationException or ParseException or FormatException or ArgumentException)
        {
            throw new TemplateException($"{field}: the template failed: {ex.Message}", ex);
        }
    }

    /// <summary>Every string of a JSON document rendered as a template (a JSON body: values are rendered, its structure stays).</summary>
    public static JsonNode? RenderJson(string field, JsonNode? node, TemplateModel model) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, RenderJson($"{field}.{p.Key}", p.Value, model)))),
        JsonArray array => new JsonArray([.. array.Select((e, i) => RenderJson($"{field}[{i}]", e, model))]),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(Render(field, v.GetValue<string>(), model)),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>Problems of every template string in a JSON document, by field path.</summary>
    public static IEnumerable<(string Field, string Message)> JsonProblems(string field, JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => JsonProblems($"{field}.{p.Key}", p.Value)),
        JsonArray array => array.SelectMany((e, i) => JsonProblems($"{field}[{i}]", e)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && Problem(v.GetValue<string>()) is { } problem => [(field, problem)],
        _ => [],
    };

    private static IFluidTemplate Parse(string field, string text)
    {
        if (Cache.TryGetValue(text, out var cached))
        {
            return cached;
        }

        if (!Parser.TryParse(text, out var template, out var error))
        {
            throw new TemplateException($"{field} is not a valid Liquid template: {error}");
        }

        if (Cache.Count >= MaxCached)
        {
            Cache.Clear();
        }

        Cache[text] = template;
        return template;
    }

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            StrictVariables = true,
            StrictFilters = true,
            MaxSteps = 10_000,
            FileProvider = new NullFileProvider(),
            CultureInfo = System.Globalization.CultureInfo.InvariantCulture,
        };
        return options;
    }

    /// <summary>JSON as the CLR values Fluid reads: objects as dictionaries, arrays as lists, numbers as decimal.</summary>
    public static object? ToClr(JsonNode? node) => node switch
    {
        JsonObject obj => obj.ToDictionary(p => p.Key, p => ToClr(p.Value), StringComparer.Ordinal),
        JsonArray array => array.Select(ToClr).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // A value made from a CLR number converts only to its own type: the JSON text is read back instead.
            JsonValueKind.Number => decimal.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
                ? d
                : double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        },
        _ => null,
    };

    [GeneratedRegex(@"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex OutputRoot();
}

/// <summary>The values a template sees.</summary>
public sealed record TemplateModel(object? Event, object? Previous);
