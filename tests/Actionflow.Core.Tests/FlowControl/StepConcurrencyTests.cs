using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;

namespace Actionflow.Core.Tests.FlowControl;

public sealed class StepConcurrencyTests
{
    private static WorkflowAction Step(string? key, int? limit) =>
        new() { Id = 5, WorkflowId = 2, Kind = "noop", ConcurrencyKey = key, ConcurrencyLimit = limit };

    private static Event Uploaded(long fileId, JsonObject? extra = null) =>
        new() { Payload = [], Kind = "input_file_uploaded", ProjectId = 1, FileId = fileId, ExtraMetadata = extra ?? [] };

    [Theory]
    [InlineData("event.file_id", "7")]
    [InlineData("event.extra_metadata.dataset", "cats")]
    [InlineData("string(event.file_id) + '-' + event.extra_metadata.dataset", "7-cats")]
    [InlineData("event.extra_metadata.missing", StepConcurrency.Unkeyed)]
    public void KeyOf_Expression_ValueAsText(string key, string expected) =>
        Assert.Equal(expected, StepConcurrency.KeyOf(Step(key, 1), Uploaded(7, new JsonObject { ["dataset"] = "cats" })));

    [Fact]
    public void KeyOf_NoKeyExpression_OneGroupForTheStep() =>
        Assert.Equal(StepConcurrency.WholeStep, StepConcurrency.KeyOf(Step(null, 2), Uploaded(7)));

    [Fact]
    public void KeyOf_CompletionEvent_SeesThePreviousOutput()
    {
        var completed = new Event
        {
            Kind = "action_completed", ProjectId = 1, ActionId = 4, FileId = 7, ExtraMetadata = new JsonObject { ["label"] = "dog" },
            Payload = [],
        };

        Assert.Equal("dog", StepConcurrency.KeyOf(Step("previous.label", 1), completed));
    }

    [Fact]
    public void Applies_StepOrWorkflowLimit_OnlyThen()
    {
        Assert.False(StepConcurrency.Applies(new ActionSnapshot(Step(null, null), true, false, null, false)));
        Assert.True(StepConcurrency.Applies(new ActionSnapshot(Step("event.file_id", 1), true, false, null, false)));
        Assert.True(StepConcurrency.Applies(new ActionSnapshot(Step(null, null), true, false, null, false) { WorkflowConcurrencyLimit = 4 }));
    }

    [Fact]
    public void Compile_InvalidKey_ErrorWithPosition()
    {
        var compiled = StepConcurrency.Compile("event.file_id +");

        Assert.False(compiled.Succeeded);
        Assert.StartsWith("line 1, column", compiled.Errors[0].ToString(), StringComparison.Ordinal);
    }
}
