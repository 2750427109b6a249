using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Sdk;

/// <summary>
/// The base of every action; derive from <see cref="ActionRunner{TConfig}"/> and declare the template with
/// <see cref="ActionTemplateAttribute"/>. Runners are resolved from dependency injection for each run, so a
/// constructor may take services.
/// </summary>
public abstract class ActionRunner
{
    private protected ActionRunner()
    {
    }

    internal abstract Type ConfigType { get; }

    internal abstract object ReadConfig(JsonObject? configData, JsonSerializerOptions options);

    internal abstract ActionContext CreateContext(ActionInvocation invocation, object config);

    internal abstract ValueTask<PreconditionResult> CheckAsync(string precondition, ActionContext context, CancellationToken cancellationToken);

    internal abstract ValueTask<ActionResult> RunAsync(ActionContext context, CancellationToken cancellationToken);

    internal abstract IEnumerable<ConfigProblem> Validate(object config);
}

/// <summary>An action whose <c>config_data</c> is read into <typeparamref name="TConfig"/>.</summary>
/// <typeparam name="TConfig">
/// The config type; its public properties are the keys of <c>config_data</c> (snake_case), and its JSON Schema is
/// published with the template.
/// </typeparam>
public abstract class ActionRunner<TConfig> : ActionRunner where TConfig : class, new()
{
    /// <summary>
    /// Problems with a config that its JSON Schema cannot state: a URL scheme, a header value no HTTP client sends, a
    /// key that does not decode. The API calls this when a step is saved and when its workflow is activated, and
    /// answers 400 naming each field (relative to <c>config_data</c>), so a config that can never work is refused before
    /// any run. Check only what is set (required fields are the schema's, enforced once the workflow is active), and
    /// call it from <see cref="ExecuteAsync"/> too so that both agree. None by default.
    /// </summary>
    public virtual IEnumerable<ConfigProblem> ValidateConfig(TConfig config) => [];

    /// <summary>
    /// Checks <paramref name="precondition"/>, one of the template's <see cref="ActionTemplateAttribute.Preconditions"/>,
    /// before <see cref="ExecuteAsync"/>. Called only when the template declares preconditions and the step checks one.
    /// Not met: the run is recorded skipped with the reason, and nothing is emitted.
    /// </summary>
    public virtual ValueTask<PreconditionResult> CheckPreconditionAsync(string precondition, ActionContext<TConfig> context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PreconditionResult.Met);

    /// <summary>
    /// Runs the action. Return <see cref="ActionResult.Success"/> (or <see cref="ActionResult.Completed"/>) when it did
    /// its work, <see cref="ActionResult.Failure"/> when trying again will not help, <see cref="ActionResult.RetryableFailure"/>
    /// when it may; let unexpected exceptions propagate: they are retried per the retry policy, then recorded as failed.
    /// </summary>
    public abstract ValueTask<ActionResult> ExecuteAsync(ActionContext<TConfig> context, CancellationToken cancellationToken);

    internal sealed override Type ConfigType => typeof(TConfig);

    internal sealed override object ReadConfig(JsonObject? configData, JsonSerializerOptions options) =>
        configData is null ? new TConfig() : ConfigReader.Read<TConfig>(configData, options) ?? new TConfig();

    internal sealed override IEnumerable<ConfigProblem> Validate(object config) => ValidateConfig((TConfig)config);

    internal sealed override ActionContext CreateContext(ActionInvocation invocation, object config) =>
        new ActionContext<TConfig>(invocation, (TConfig)config);

    internal sealed override ValueTask<PreconditionResult> CheckAsync(string precondition, ActionContext context, CancellationToken cancellationToken) =>
        CheckPreconditionAsync(precondition, (ActionContext<TConfig>)context, cancellationToken);

    internal sealed override ValueTask<ActionResult> RunAsync(ActionContext context, CancellationToken cancellationToken) =>
        ExecuteAsync((ActionContext<TConfig>)context, cancellationToken);
}

/// <summary>One problem with a config, found by <see cref="ActionRunner{TConfig}.ValidateConfig"/>.</summary>
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
