using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Actionflow.Sdk.Testing;

/// <summary>
/// Runs <typeparamref name="TRunner"/> the way the engine runs a step, with no database and no broker: the config read
/// from <c>config_data</c>, the precondition the step checks, the runner, the classification of what it returned or
/// threw, and the completion event a success emits.
/// </summary>
/// <example>
/// <code>
/// await using var tester = new ActionTester&lt;GreetingAction&gt;();
/// var result = await tester.RunAsync(new GreetingConfig { Greeting = "Hi" }, new TestEvent { FileId = 11 });
/// Assert.Equal("Hi, file 11", (string?)result.Output["message"]);
/// </code>
/// </example>
public sealed class ActionTester<TRunner> : IAsyncDisposable where TRunner : ActionRunner
{
    private readonly ServiceProvider _services;
    private readonly StepInvoker _invoker;
    private readonly ActionDescriptor _declared;

    /// <param name="configureServices">Registers what the runner's constructor needs (an HTTP client factory, a clock, a logger provider).</param>
    public ActionTester(Action<IServiceCollection>? configureServices = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton(TimeProvider.System);
        configureServices?.Invoke(services);
        services.AddActionRunner<TRunner>();
        _services = services.BuildServiceProvider();
        var registry = new RunnerRegistry([typeof(TRunner)]);
        _declared = ActionDescriptor.Of(typeof(TRunner));
        _invoker = new StepInvoker(registry, _services.GetRequiredService<IServiceScopeFactory>(), _services.GetRequiredService<ILoggerFactory>());
    }

    /// <summary>The services the runner is resolved from.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The template <typeparamref name="TRunner"/> declares, as the engine publishes it.</summary>
    public ActionTemplate Template => RunnerRegistry.ToTemplate(_declared);

    /// <summary>Runs the action with <paramref name="config"/> (written to <c>config_data</c> and read back as the engine reads it).</summary>
    /// <param name="config">The runner's config object.</param>
    /// <param name="triggeringEvent">The event it runs for; a default <c>input_file_uploaded</c> when null.</param>
    /// <param name="step">The step and run it runs as; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public Task<ActionTestResult> RunAsync(object config, TestEvent? triggeringEvent = null, TestStep? step = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var configData = System.Text.Json.JsonSerializer.SerializeToNode(config, config.GetType(), JsonDefaults.SnakeCase) as JsonObject ?? [];
        return RunAsync(configData, triggeringEvent, step, cancellationToken);
    }

    /// <summary>Runs the action with <paramref name="configData"/> as a step stores it.</summary>
    /// <param name="configData">The step's <c>config_data</c>.</param>
    /// <param name="triggeringEvent">The event it runs for; a default <c>input_file_uploaded</c> when null.</param>
    /// <param name="step">The step and run it runs as; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<ActionTestResult> RunAsync(JsonObject configData, TestEvent? triggeringEvent = null, TestStep? step = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configData);
        var ev = (triggeringEvent ?? new TestEvent()).ToEvent();
        var s = step ?? new TestStep();
        var action = new WorkflowAction
        {
            Id = s.Id,
            ProjectId = ev.ProjectId,
            WorkflowId = s.WorkflowId,
            Kind = _declared.Kind,
            PublicName = _declared.PublicName,
            Ordinal = s.Ordinal,
            TriggerData = new JsonObject { ["event_name"] = ev.Kind },
            Precondition = s.Precondition ?? [],
            CompletionConditionData = s.CompletionConditionData ?? [],
            ConfigData = configData,
            RetryPolicy = s.RetryPolicy,
            Active = true,
        };
        var run = new ActionRun
        {
            Id = s.RunId,
            ProjectId = ev.ProjectId,
            WorkflowId = s.WorkflowId,
            ActionId = s.Id,
            WorkflowRunId = s.WorkflowRunId,
            EventId = ev.Id,
            Kind = _declared.Kind,
            Status = ActionRunStatus.Running,
            Attempt = s.Attempt,
            WorkerId = "test",
        };
        var outcome = await _invoker.InvokeAsync(action, ev, run, cancellationToken);
        var plan = CompletionPlanner.Plan(
            new CompletionInput(new ActionSnapshot(action, true, false, null, false), ev, run, outcome, "test", ev.TimeCreated, 0.5), _ => []);
        return new ActionTestResult(plan);
    }

    /// <summary>Disposes the services the runner was resolved from.</summary>
    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
