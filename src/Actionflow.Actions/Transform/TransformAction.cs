using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace Actionflow.Actions.Transform;

/// <summary>
/// Runs a JavaScript function over the event and the previous step's output and records what it returns: reshaping
/// data between steps without writing a plugin. Jint, sandboxed: strict mode, no CLR, no files, network, modules or
/// <c>eval</c>; limits on time, statements, memory (32 MB) and recursion (200). A limit reached or an exception thrown
/// fails the run at once (running it again would do the same), with the reason or the message and line.
/// </summary>
[ActionTemplate(KindName, "Transform", "Runs a sandboxed JavaScript function over the event and the previous output; what it returns is the output.",
    Category = "data", MaxAttempts = 1,
    Triggers =
    [
        EventKinds.InputFileUploaded, EventKinds.ActionCompleted, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart,
        EventKinds.TaskRequestChanges, EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated,
        EventKinds.TaskTemplateCompleted, EventKinds.FileCopy, EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ManualTrigger, EventKinds.TimeTrigger,
        EventKinds.ExportGenerateSuccess,
    ])]
public sealed class TransformAction : ActionRunner<TransformConfig>
{
    public const string KindName = "transform";
    public const long MemoryLimitBytes = 32 * 1024 * 1024;
    public const int RecursionLimit = 200;
    private const string FunctionName = "transform";

    public override IEnumerable<ConfigProblem> ValidateConfig(TransformConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.IsNullOrWhiteSpace(config.Script) && ParseProblem(config.Script) is { } problem)
        {
            yield return new ConfigProblem("script", problem);
        }
    }

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<TransformConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (string.IsNullOrWhiteSpace(config.Script))
        {
            return ValueTask.FromResult(ActionResult.Failure("script is required"));
        }

        return ValueTask.FromResult(Run(config, context.Event.Payload, Templating.LiquidTemplates.PreviousOf(context.Event), cancellationToken));
    }

    /// <summary>Runs the script's <c>transform(event, previous)</c> under the limits; the result or why it failed.</summary>
    public static ActionResult Run(TransformConfig config, JsonObject ev, JsonObject previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(ev);
        using var engine = new Engine(options =>
        {
            options.Strict();
            options.DisableStringCompilation();
            options.TimeoutInterval(TimeSpan.FromMilliseconds(config.TimeoutMs));
            options.MaxStatements(config.MaxStatements);
            options.LimitMemory(MemoryLimitBytes);
            options.LimitRecursion(RecursionLimit);
            options.CancellationToken(cancellationToken);
        });
        try
        {
            engine.Execute(config.Script, "script");
            var function = engine.GetValue(FunctionName);
            if (function is not Jint.Native.Function.Function)
            {
                return ActionResult.Failure("script must define function transform(event, previous)");
            }

            var parser = new Jint.Native.Json.JsonParser(engine);
            var result = engine.Invoke(function, parser.Parse(ev.ToJsonString()), parser.Parse(previous.ToJsonString()));
            if (!result.IsObject() || result.IsArray())
            {
                return ActionResult.Failure($"transform must return an object, it returned {Describe(result)}");
            }

            var json = new Jint.Native.Json.JsonSerializer(engine).Serialize(result).AsString();
            var output = JsonNode.Parse(json) as JsonObject ?? [];
            return JsonLimits.IsWithin(output, JsonLimits.MaxDepth - 1)
                ? ActionResult.Success(output)
                : ActionResult.Failure($"transform returned an object nested deeper than {JsonLimits.MaxDepth - 1} levels");
        }
        catch (TimeoutException)
        {
            return ActionResult.Failure($"script ran longer than its time limit ({config.TimeoutMs} ms)");
        }
        catch (Jint.Runtime.StatementsCountOverflowException)
        {
            return ActionResult.Failure($"script executed more statements than its limit ({config.MaxStatements})");
        }
        catch (MemoryLimitExceededException)
        {
            return ActionResult.Failure($"script used more memory than its limit ({MemoryLimitBytes / (1024 * 1024)} MB)");
        }
        catch (RecursionDepthOverflowException)
        {
            return ActionResult.Failure($"script recursed deeper than its limit ({RecursionLimit} calls)");
        }
        catch (JavaScriptException ex)
        {
            return ActionResult.Failure($"script threw at line {ex.Location.Start.Line}: {ex.Message}");
        }
        catch (Acornima.ParseErrorException ex)
        {
            return ActionResult.Failure($"script does not parse: {ex.Message}");
        }
        catch (ScriptPreparationException ex)
        {
            return ActionResult.Failure($"script does not parse: {(ex.InnerException ?? ex).Message}");
        }
        catch (JsonException ex)
        {
            return ActionResult.Failure($"transform returned something that is not JSON: {ex.Message}");
        }
    }

    private static string? ParseProblem(string script)
    {
        try
        {
            Engine.PrepareScript(script, "script", strict: true);
            return null;
        }
        catch (ScriptPreparationException ex)
        {
            return "is not valid JavaScript: " + (ex.InnerException ?? ex).Message;
        }
        catch (Acornima.ParseErrorException ex)
        {
            return "is not valid JavaScript: " + ex.Message;
        }
    }

    private static string Describe(JsValue value) => value.IsArray() ? "an array" : value.Type.ToString().ToLowerInvariant();
}
