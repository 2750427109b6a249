using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;

namespace Actionflow.Actions.Delay;

/// <summary>The <c>config_data</c> of a delay: a duration, a time taken from the event, or both (the duration after that time).</summary>
public sealed class DelayConfig
{
    [RegularExpression(Durations.Pattern)]
    [Description("How long to wait: \"90s\", \"5m\", \"2h\", \"1d\" (or \"500ms\"). With until, how long after that time.")]
    public string? Duration { get; set; }

    [RegularExpression(DelayAction.PathPattern)]
    [Description("Wait until the time at this path of the event, e.g. extra_metadata.due_at (a previous step's output is the event's extra_metadata): ISO 8601 text or Unix seconds.")]
    public string? Until { get; set; }
}

/// <summary>
/// Waits, then completes so the workflow goes on. The run holds no thread or timer while it waits: it is recorded
/// <c>waiting</c> with its due time and a trigger hidden until then (<see cref="ActionResult.SuccessAt"/>), so the wait
/// survives restarts, and canceling the workflow run ends it. The event's <c>extra_metadata</c> passes through to the
/// next step, with <c>delayed_until</c> added.
/// </summary>
[ActionTemplate(KindName, "Delay", "Waits for a duration, or until a time taken from the event, then completes so the workflow goes on.", Category = "flow",
    Triggers =
    [
        EventKinds.ActionCompleted, EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart,
        EventKinds.TaskRequestChanges, EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated,
        EventKinds.TaskTemplateCompleted, EventKinds.FileCopy, EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ManualTrigger, EventKinds.TimeTrigger,
    ])]
public sealed class DelayAction(TimeProvider time) : ActionRunner<DelayConfig>
{
    public const string KindName = "delay";
    public const string PathPattern = @"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$";

    /// <summary>The longest wait a step may ask for.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(366);

    public override ValueTask<ActionResult> ExecuteAsync(ActionContext<DelayConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var now = time.GetUtcNow();
        var at = DueTime(context.Config, context.Event.Payload, now, out var problem);
        if (at is null)
        {
            return ValueTask.FromResult(ActionResult.Failure(problem!));
        }

        var output = (JsonObject)context.Event.ExtraMetadata.DeepClone();
        output["delayed_until"] = at.Value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        return ValueTask.FromResult(ActionResult.SuccessAt(at.Value, output));
    }

    /// <summary>When the delay ends for <paramref name="ev"/> (the event as Diffgram shapes it); null with the reason when it cannot say.</summary>
    public static DateTimeOffset? DueTime(DelayConfig config, JsonObject ev, DateTimeOffset now, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(config);
        problem = null;
        if (string.IsNullOrWhiteSpace(config.Duration) && string.IsNullOrWhiteSpace(config.Until))
        {
            problem = "config_data needs duration (e.g. \"5m\"), until (a path into the event, e.g. extra_metadata.due_at), or both";
            return null;
        }

        var from = now;
        if (!string.IsNullOrWhiteSpace(config.Until))
        {
            var node = Find(ev, config.Until);
            if (ReadTime(node) is not { } until)
            {
                problem = node is null
                    ? $"the event has no value at '{config.Until}' to wait until"
                    : $"the value at '{config.Until}' ({node.ToJsonString()}) is not a time: ISO 8601 text or Unix seconds";
                return null;
            }

            from = until;
        }

        var duration = TimeSpan.Zero;
        if (!string.IsNullOrWhiteSpace(config.Duration))
        {
            if (Durations.Parse(config.Duration) is not { } parsed)
            {
                problem = $"duration '{config.Duration}' is not a duration such as \"90s\", \"5m\", \"2h\", \"1d\"";
                return null;
            }

            duration = parsed;
        }

        if (from - now > MaxDelay || duration > MaxDelay || from + duration - now > MaxDelay)
        {
            problem = $"a delay may wait at most {MaxDelay.TotalDays.ToString(CultureInfo.InvariantCulture)} days";
            return null;
        }

        return from + duration;
    }

    private static JsonNode? Find(JsonObject ev, string path)
    {
        JsonNode? node = ev;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject obj ? obj[part] : null;
        }

        return node;
    }

    private static DateTimeOffset? ReadTime(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        if (value.GetValueKind() == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        if (value.GetValueKind() == JsonValueKind.Number
            && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)
            && seconds is > 0 and < 253_402_300_799)
        {
            return DateTimeOffset.UnixEpoch.AddSeconds(seconds);
        }

        return null;
    }
}
