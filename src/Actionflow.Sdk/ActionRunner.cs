using System.Text.Json;

namespace Actionflow.Sdk;

/// <summary>
/// The base of every action: it declares the template (kind, names, trigger, precondition and completion events,
/// the config type) and runs one step of a workflow. Derive from <see cref="ActionRunner{TConfig}"/>.
/// Runners are resolved from dependency injection for each run, so a constructor may take services.
/// </summary>
public abstract class ActionRunner
{
    /// <summary>The unique kind stored on actions of this template, e.g. <c>Webhook</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The name people see.</summary>
    public abstract string PublicName { get; }

    /// <summary>One sentence on what the action does.</summary>
    public abstract string Description { get; }

    /// <summary>An icon URL or data URI.</summary>
    public virtual string Icon => "";

    /// <summary>A grouping for the step palette, e.g. <c>integration</c>.</summary>
    public virtual string? Category => null;

    /// <summary>The events that can start the action, with the default.</summary>
    public abstract ActionTrigger Trigger { get; }

    /// <summary>The precondition events the action can check.</summary>
    public virtual ActionCondition Precondition => ActionCondition.None;

    /// <summary>The completion events the action reports.</summary>
    public virtual ActionCompleteCondition Completion => ActionCompleteCondition.ActionCompleted;

    /// <summary>
    /// How failed attempts are retried unless the step overrides it (<c>retry_policy</c>). Runner exceptions and
    /// <see cref="ActionResult.RetryableFailure"/> are retried; <see cref="ActionResult.Failure"/> is final.
    /// </summary>
    public virtual RetryPolicy RetryPolicy => RetryPolicy.Default;

    /// <summary>The type <c>config_data</c> is read into; its JSON Schema is published with the template.</summary>
    public abstract Type ConfigType { get; }

    /// <summary>Reads <c>config_data</c>; throws <see cref="JsonException"/> when it does not fit <see cref="ConfigType"/>.</summary>
    public abstract object ReadConfig(JsonElement configData, JsonSerializerOptions options);

    /// <summary>
    /// Problems with a config that its JSON Schema cannot state: a URL scheme, a header value no HTTP client sends, a
    /// key that does not decode. The API calls this when a step is saved and when its workflow is activated, and
    /// answers 400 naming each field, so a config that can never work is refused before any run. Check only what is
    /// set (required fields are the schema's, enforced once the workflow is active), and call it from
    /// <see cref="ExecuteAsync"/> too so that both agree. None by default.
    /// </summary>
    public virtual IEnumerable<ConfigProblem> ValidateConfig(object config) => [];

    /// <summary>Decides whether the action runs for this event. Called before <see cref="ExecuteAsync"/>.</summary>
    public abstract ValueTask<PreconditionResult> CheckPreconditionsAsync(ActionContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Runs the action. Return <see cref="ActionResult.Success"/> or <see cref="ActionResult.Failure"/> for
    /// expected outcomes; let unexpected exceptions propagate: the engine records them as a failed run.
    /// </summary>
    public abstract Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken);
}

/// <summary>An action whose <c>config_data</c> is read into <typeparamref name="TConfig"/>.</summary>
/// <typeparam name="TConfig">The config type; its public properties are the keys of <c>config_data</c> (snake_case).</typeparam>
public abstract class ActionRunner<TConfig> : ActionRunner where TConfig : class, new()
{
    /// <inheritdoc cref="ActionRunner.ConfigType"/>
    public sealed override Type ConfigType => typeof(TConfig);

    /// <inheritdoc cref="ActionRunner.ReadConfig"/>
    public sealed override object ReadConfig(JsonElement configData, JsonSerializerOptions options) =>
        configData.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            ? new TConfig()
            : configData.Deserialize<TConfig>(options) ?? new TConfig();

    /// <summary>Problems with the typed config; see <see cref="ActionRunner.ValidateConfig(object)"/>. None by default.</summary>
    public virtual IEnumerable<ConfigProblem> ValidateConfig(TConfig config) => [];

    /// <inheritdoc cref="ActionRunner.ValidateConfig(object)"/>
    public sealed override IEnumerable<ConfigProblem> ValidateConfig(object config) => ValidateConfig((TConfig)config);

    /// <summary>Decides whether the action runs. By default it always does.</summary>
    public virtual ValueTask<PreconditionResult> CheckPreconditionsAsync(ActionContext<TConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PreconditionResult.Met);

    /// <summary>Runs the action with its typed config.</summary>
    public abstract Task<ActionResult> ExecuteAsync(ActionContext<TConfig> context, CancellationToken cancellationToken);

    /// <inheritdoc cref="ActionRunner.CheckPreconditionsAsync"/>
    public sealed override ValueTask<PreconditionResult> CheckPreconditionsAsync(ActionContext context, CancellationToken cancellationToken) =>
        CheckPreconditionsAsync((ActionContext<TConfig>)context, cancellationToken);

    /// <inheritdoc cref="ActionRunner.ExecuteAsync"/>
    public sealed override Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) =>
        ExecuteAsync((ActionContext<TConfig>)context, cancellationToken);
}

/// <summary>One problem with a config, found by <see cref="ActionRunner.ValidateConfig(object)"/>.</summary>
/// <param name="Field">The snake_case path of the field within <c>config_data</c>, e.g. <c>url</c> or <c>headers.Host</c>.</param>
/// <param name="Message">What is wrong, as a person fixing it reads it after the field; never quoting a secret.</param>
public readonly record struct ConfigProblem(string Field, string Message);

/// <summary>
/// Marks a config property as secret: it is write-only through the API (responses show <c>"********"</c>, and that mask
/// sent back keeps the stored value) and never logged or echoed. On a dictionary, every value is secret and the keys
/// stay readable (e.g. request headers: their names show, their values do not).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecretAttribute : Attribute;
