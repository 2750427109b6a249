using Actionflow.Core.Engine;
using Actionflow.Sdk;
using Actionflow.TestPlugin;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Core.Tests;

public sealed class RunnerRegistryTests
{
    private sealed class SecretConfig
    {
        public string Url { get; set; } = "";

        [Secret]
        public string? ApiToken { get; set; }
    }

    private sealed class SecretAction : ActionRunner<SecretConfig>
    {
        public override string Kind => "secret_action";
        public override string PublicName => "Secret";
        public override string Description => "Has a secret.";
        public override ActionTrigger Trigger => new(EventKinds.TaskCompleted);

        public override Task<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            Task.FromResult(ActionResult.Success());
    }

    private sealed class SameKindAction : ActionRunner<SecretConfig>
    {
        public override string Kind => "secret_action";
        public override string PublicName => "Again";
        public override string Description => "Same kind.";
        public override ActionTrigger Trigger => new(EventKinds.TaskCompleted);

        public override Task<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            Task.FromResult(ActionResult.Success());
    }

    private static RunnerRegistry Build(params Type[] runners)
    {
        var services = new ServiceCollection();
        foreach (var t in runners)
        {
            services.AddTransient(t);
        }

        var provider = services.BuildServiceProvider();
        return new RunnerRegistry(runners.Select(t => new ActionRunnerRegistration(t)), provider);
    }

    [Fact]
    public void Templates_DeclaredRunner_HasDiffgramEventListsAndSnakeCaseSchema()
    {
        var template = Assert.Single(Build(typeof(DirectoryGateAction)).Templates);

        Assert.Equal("test_directory_gate", template.Kind);
        Assert.Equal("input_file_uploaded", (string?)template.TriggerData["default_event_name"]);
        Assert.Equal(["input_file_uploaded", "action_completed"], template.TriggerData["event_list"]!.AsArray().Select(e => (string)e!["value"]!));
        Assert.Null((string?)template.ConditionData["default_event_name"]);
        Assert.Equal("action_completed", (string?)template.CompletionConditionData["default_event_name"]);
        Assert.NotNull(template.ConfigSchema["properties"]!["required_directory_id"]);
    }

    [Fact]
    public void Templates_SecretProperty_IsWriteOnlyInSchema()
    {
        var schema = Assert.Single(Build(typeof(SecretAction)).Templates).ConfigSchema;

        Assert.True((bool?)schema["properties"]!["api_token"]!["writeOnly"]);
        Assert.Null(schema["properties"]!["url"]!["writeOnly"]);
    }

    private sealed class AnnotatedConfig
    {
        [System.ComponentModel.DataAnnotations.Required]
        [System.ComponentModel.Description("Where to send it.")]
        public string Url { get; set; } = "";

        [System.ComponentModel.DataAnnotations.Range(1, 300)]
        public int TimeoutSeconds { get; set; } = 10;
    }

    [Fact]
    public void ConfigSchema_DataAnnotations_BecomeRequiredRangeAndDescription()
    {
        var schema = RunnerRegistry.ConfigSchema(typeof(AnnotatedConfig));

        Assert.Equal(["url"], schema["required"]!.AsArray().Select(n => (string)n!));
        Assert.Equal("Where to send it.", (string?)schema["properties"]!["url"]!["description"]);
        Assert.Equal((1, 300), ((int)schema["properties"]!["timeout_seconds"]!["minimum"]!, (int)schema["properties"]!["timeout_seconds"]!["maximum"]!));
    }

    [Fact]
    public void Constructor_TwoRunnersWithOneKind_FailsNamingBoth()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(typeof(SecretAction), typeof(SameKindAction)));

        Assert.Contains("secret_action", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(SameKindAction), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ActionTrigger_DefaultNotInList_IsRejected()
    {
        Assert.Throws<ArgumentException>(() => new ActionTrigger("task_completed", "input_file_uploaded"));
    }
}
