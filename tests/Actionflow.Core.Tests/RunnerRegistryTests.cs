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

    [ActionTemplate("secret_action", "Secret", "Has a secret.", Triggers = [EventKinds.TaskCompleted])]
    private sealed class SecretAction : ActionRunner<SecretConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    [ActionTemplate("secret_action", "Again", "Same kind.", Triggers = [EventKinds.TaskCompleted])]
    private sealed class SameKindAction : ActionRunner<SecretConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    [ActionTemplate("no_triggers", "None", "Declares no trigger.")]
    private sealed class NoTriggerAction : ActionRunner<SecretConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    private sealed class UndeclaredAction : ActionRunner<SecretConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<SecretConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    private static RunnerRegistry Build(params Type[] runners) => new(runners);

    [Fact]
    public void Templates_DeclaredRunner_HasDiffgramEventListsAndSnakeCaseSchema()
    {
        var template = Assert.Single(Build(typeof(DirectoryGateAction)).Templates);

        Assert.Equal("test_directory_gate", template.Kind);
        Assert.Equal("input_file_uploaded", (string?)template.TriggerData["default_event_name"]);
        Assert.Equal(["input_file_uploaded", "action_completed"], template.TriggerData["event_list"]!.AsArray().Select(e => (string)e!["value"]!));
        Assert.Equal(DirectoryGateAction.InDirectory, (string?)template.ConditionData["default_event_name"]);
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
    public void Constructor_TemplateWithoutTriggers_FailsSayingSo()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(typeof(NoTriggerAction)));

        Assert.Contains("at least one trigger event", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddActionRunner_RunnerWithoutTemplate_IsRefusedAtRegistration()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddActionRunner<UndeclaredAction>());

        Assert.Contains("[ActionTemplate(", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Templates_DeclaredPreconditionsAndCompletionEvents_AreTheTemplatesLists()
    {
        var template = Assert.Single(Build(typeof(ExportLikeAction)).Templates);

        Assert.Equal("export_generate_success", (string?)template.CompletionConditionData["default_event_name"]);
        Assert.Equal(["export_generate_success"], template.CompletionConditionData["event_list"]!.AsArray().Select(e => (string)e!["value"]!));
        var gate = Assert.Single(Build(typeof(DirectoryGateAction)).Templates);
        Assert.Equal(DirectoryGateAction.InDirectory, (string?)gate.ConditionData["default_event_name"]);
    }
}
