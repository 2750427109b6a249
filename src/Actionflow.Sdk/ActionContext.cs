using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Actionflow.Sdk;

/// <summary>Everything a runner sees while it runs: the step, the event, the run; see <see cref="ActionContext{TConfig}"/>.</summary>
public abstract class ActionContext
{
    private protected ActionContext(ActionInvocation invocation)
    {
        Action = invocation.Action;
        Event = invocation.Event;
        Run = invocation.Run;
        Logger = invocation.Logger;
        Services = invocation.Services;
    }

    /// <summary>The step being run.</summary>
    public ActionInfo Action { get; }

    /// <summary>The event that triggered this run.</summary>
    public ActionEvent Event { get; }

    /// <summary>The run: its id (stable across retries, use it as an idempotency key) and attempt.</summary>
    public RunInfo Run { get; }

    /// <summary>A logger scoped to this run. Never log secrets.</summary>
    public ILogger Logger { get; }

    /// <summary>The services of the run's scope.</summary>
    public IServiceProvider Services { get; }
}

/// <summary>The context of a runner with a typed config.</summary>
public sealed class ActionContext<TConfig> : ActionContext where TConfig : class
{
    internal ActionContext(ActionInvocation invocation, TConfig config)
        : base(invocation)
    {
        Config = config;
    }

    /// <summary>The step's <c>config_data</c>.</summary>
    public TConfig Config { get; }
}

/// <summary>What the engine hands a runner besides its config.</summary>
internal sealed record ActionInvocation(ActionInfo Action, ActionEvent Event, RunInfo Run, ILogger Logger, IServiceProvider Services);

/// <summary>The step being run.</summary>
/// <param name="Id">The action id.</param>
/// <param name="ProjectId">The project it belongs to.</param>
/// <param name="WorkflowId">The workflow it belongs to.</param>
/// <param name="Kind">Its template kind.</param>
/// <param name="PublicName">Its name.</param>
/// <param name="Ordinal">Its position in the workflow, from 0.</param>
/// <param name="TriggerData">Its <c>trigger_data</c>.</param>
/// <param name="Precondition">Its <c>precondition</c> document (e.g. Diffgram's <c>output_labels</c>).</param>
public sealed record ActionInfo(long Id, long ProjectId, long WorkflowId, string Kind, string PublicName, int Ordinal, JsonObject TriggerData, JsonObject Precondition)
{
    private JsonObject? _triggerData = TriggerData;
    private JsonObject? _precondition = Precondition;
    private JsonObject? _triggerDataSource;
    private JsonObject? _preconditionSource;

    /// <summary>Its <c>trigger_data</c>.</summary>
    public JsonObject TriggerData
    {
        get => _triggerData ?? CopyOnce(ref _triggerData, _triggerDataSource!);
        init => (_triggerData, _triggerDataSource) = (value, null);
    }

    /// <summary>Its <c>precondition</c> document (e.g. Diffgram's <c>output_labels</c>).</summary>
    public JsonObject Precondition
    {
        get => _precondition ?? CopyOnce(ref _precondition, _preconditionSource!);
        init => (_precondition, _preconditionSource) = (value, null);
    }

    /// <summary>
    /// A step whose <c>trigger_data</c> and <c>precondition</c> are copies of the definition's, made when first read:
    /// the runner may change its copy, and most runners never read them.
    /// </summary>
    internal static ActionInfo CopiedOnRead(long id, long projectId, long workflowId, string kind, string publicName, int ordinal, JsonObject triggerData, JsonObject precondition) =>
        new(id, projectId, workflowId, kind, publicName, ordinal, null!, null!)
        {
            _triggerDataSource = triggerData,
            _preconditionSource = precondition,
        };

    private static JsonObject CopyOnce(ref JsonObject? target, JsonObject source)
    {
        // Readers on several threads all get the one copy that won.
        Interlocked.CompareExchange(ref target, (JsonObject)source.DeepClone(), null);
        return target;
    }
}

/// <summary>The run of one action for one event.</summary>
/// <param name="Id">The action run id: unique per (event, action), the same on every attempt.</param>
/// <param name="WorkflowRunId">The workflow run it belongs to.</param>
/// <param name="Attempt">The attempt, from 1.</param>
public sealed record RunInfo(long Id, long WorkflowRunId, int Attempt);

/// <summary>An event as Diffgram's consumers see it.</summary>
public sealed class ActionEvent
{
    /// <summary>The event id.</summary>
    public required long Id { get; init; }
    /// <summary>The event kind, e.g. <c>input_file_uploaded</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>The project.</summary>
    public required long ProjectId { get; init; }
    /// <summary>The workflow named by the event, if any.</summary>
    public long? WorkflowId { get; init; }
    /// <summary>The action named by the event (for <c>action_completed</c>, the action that completed).</summary>
    public long? ActionId { get; init; }
    /// <summary>The file.</summary>
    public long? FileId { get; init; }
    /// <summary>The task.</summary>
    public long? TaskId { get; init; }
    /// <summary>The job (task template).</summary>
    public long? JobId { get; init; }
    /// <summary>The directory (dataset).</summary>
    public long? DirectoryId { get; init; }
    /// <summary>The input.</summary>
    public long? InputId { get; init; }
    /// <summary>The member who caused it.</summary>
    public long? MemberId { get; init; }
    /// <summary>Free-form data; for <c>action_completed</c>, the previous step's output.</summary>
    public JsonObject ExtraMetadata
    {
        get => _extraMetadata ?? Build(ref _extraMetadata, _extraMetadataSource);
        init => _extraMetadata = value;
    }
    /// <summary>When the event was recorded (UTC).</summary>
    public DateTime TimeCreated { get; init; }
    /// <summary>The event with Diffgram's keys (§1.3 of Diffgram's message shape), plus any unknown keys it came with.</summary>
    public required JsonObject Payload
    {
        get => _payload ?? Build(ref _payload, _payloadSource);
        init => _payload = value;
    }

    private JsonObject? _payload;
    private JsonObject? _extraMetadata;
    private Func<object, JsonObject>? _payloadSource;
    private Func<object, JsonObject>? _extraMetadataSource;
    private object? _source;

    /// <summary>
    /// An event whose message and metadata are built on first read, each by its function from <paramref name="source"/>:
    /// most runners never look at them, and building them is most of what a run would otherwise allocate. Static
    /// functions and the source object itself, rather than closures, so that a run that reads neither allocates nothing for them.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
#pragma warning disable CS8618 // Payload is not null: its getter builds it from the source given here.
    internal ActionEvent(long id, string kind, long projectId, object source, Func<object, JsonObject> payload, Func<object, JsonObject> extraMetadata)
    {
        Id = id;
        Kind = kind;
        ProjectId = projectId;
        _source = source;
        _payloadSource = payload;
        _extraMetadataSource = extraMetadata;
    }
#pragma warning restore CS8618

    private JsonObject Build(ref JsonObject? target, Func<object, JsonObject>? build)
    {
        // Readers on several threads all get the one object that won; no source (an initializer left it unset): empty.
        Interlocked.CompareExchange(ref target, build is null ? [] : build(_source!), null);
        return target;
    }

    /// <summary>An event with every member set by its initializer.</summary>
    public ActionEvent()
    {
    }
}
