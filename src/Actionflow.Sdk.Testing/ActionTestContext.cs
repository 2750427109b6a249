using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Actionflow.Sdk.Testing;

/// <summary>
/// A context to call a runner's <c>ExecuteAsync</c> or <c>CheckPreconditionAsync</c> directly, e.g. to watch its log
/// lines. <see cref="ActionTester{TRunner}"/> runs it the way the engine does and is usually what a test wants.
/// </summary>
public static class ActionTestContext
{
    /// <summary>A context for <paramref name="config"/>, <paramref name="triggeringEvent"/> and <paramref name="step"/> (defaults for those left out).</summary>
    /// <param name="config">The runner's config.</param>
    /// <param name="triggeringEvent">The event it runs for.</param>
    /// <param name="step">The step and run it runs as.</param>
    /// <param name="logger">The run's logger (e.g. one that records lines).</param>
    /// <param name="services">The run's services.</param>
    /// <param name="kind">The step's kind, as its template declares it.</param>
    public static ActionContext<TConfig> For<TConfig>(
        TConfig config, TestEvent? triggeringEvent = null, TestStep? step = null, ILogger? logger = null, IServiceProvider? services = null, string kind = "test")
        where TConfig : class
    {
        ArgumentNullException.ThrowIfNull(config);
        var e = triggeringEvent ?? new TestEvent();
        var s = step ?? new TestStep();
        var ev = e.ToEvent();
        var actionEvent = StepInvoker.ToActionEvent(ev, (System.Text.Json.Nodes.JsonObject?)e.Payload?.DeepClone());
        var info = new ActionInfo(s.Id, ev.ProjectId, s.WorkflowId, kind, kind, s.Ordinal, new() { ["event_name"] = ev.Kind }, s.Precondition ?? []);
        return new ActionContext<TConfig>(
            new ActionInvocation(info, actionEvent, new RunInfo(s.RunId, s.WorkflowRunId, s.Attempt), logger ?? NullLogger.Instance, services ?? EmptyServices.Instance),
            config);
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static EmptyServices Instance { get; } = new();

        public object? GetService(Type serviceType) => null;
    }
}
