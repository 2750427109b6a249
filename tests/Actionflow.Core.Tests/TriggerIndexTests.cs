using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;

namespace Actionflow.Core.Tests;

public sealed class TriggerIndexTests
{
    private static TriggerDefinition Step(long id, long workflow, string eventName, long? previous = null, JsonObject? trigger = null, long project = 1) =>
        new(id, project, workflow, "noop", 0, eventName, trigger ?? new JsonObject { ["event_name"] = eventName }, [], previous);

    private static Event Ev(string kind, long project = 1, long? directory = null, long? action = null, long? workflow = null) =>
        new() { Kind = kind, ProjectId = project, DirectoryId = directory, ActionId = action, WorkflowId = workflow };

    [Fact]
    public void Match_ByProjectAndKind_OnlySameProjectAndKind()
    {
        var index = new TriggerIndex();
        index.Load(1, [Step(1, 10, "input_file_uploaded"), Step(2, 11, "task_completed"), Step(3, 12, "input_file_uploaded", project: 2)]);

        Assert.Equal([1L], index.Match(Ev("input_file_uploaded")));
        Assert.Equal([3L], index.Match(Ev("input_file_uploaded", project: 2)));
        Assert.Empty(index.Match(Ev("task_created")));
    }

    [Fact]
    public void Match_DirectoryFilter_UsesDirectoryIdAndUploadList()
    {
        var index = new TriggerIndex();
        index.Load(1,
        [
            Step(1, 10, "input_file_uploaded", trigger: new JsonObject { ["event_name"] = "input_file_uploaded", ["directory_id"] = 5 }),
            Step(2, 11, "input_file_uploaded", trigger: new JsonObject { ["event_name"] = "input_file_uploaded", ["upload_directory_id_list"] = new JsonArray(6, 7) }),
            Step(3, 12, "input_file_uploaded"),
        ]);

        Assert.Equal([1L, 3L], index.Match(Ev("input_file_uploaded", directory: 5)));
        Assert.Equal([2L, 3L], index.Match(Ev("input_file_uploaded", directory: 7)));
        Assert.Equal([3L], index.Match(Ev("input_file_uploaded")));
    }

    [Fact]
    public void Match_ActionCompleted_OnlyTheNextStepOfTheCompletedOne()
    {
        var index = new TriggerIndex();
        index.Load(1, [Step(2, 10, "action_completed", previous: 1), Step(3, 10, "action_completed", previous: 2), Step(9, 11, "action_completed", previous: null)]);

        Assert.Equal([2L], index.Match(Ev("action_completed", action: 1)));
        Assert.Equal([3L], index.Match(Ev("action_completed", action: 2)));
        Assert.Empty(index.Match(Ev("action_completed")));
    }

    [Fact]
    public void Match_ManualAndTimeTriggers_OnlyTheNamedActionOrWorkflow()
    {
        var index = new TriggerIndex();
        index.Load(1, [Step(1, 10, "manual_trigger"), Step(2, 11, "manual_trigger"), Step(3, 10, "time_trigger"), Step(4, 11, "time_trigger")]);

        Assert.Equal([2L], index.Match(Ev("manual_trigger", action: 2, workflow: 11)));
        Assert.Equal([1L], index.Match(Ev("manual_trigger", workflow: 10)));
        Assert.Empty(index.Match(Ev("manual_trigger")));
        Assert.Equal([4L], index.Match(Ev("time_trigger", workflow: 11)));
        Assert.Empty(index.Match(Ev("time_trigger")));
    }

    [Fact]
    public void Load_NewSnapshot_ReplacesTheOldOneAndBecomesReady()
    {
        var index = new TriggerIndex();
        Assert.False(index.IsReady);
        index.Load(1, [Step(1, 10, "task_completed")]);
        index.Load(2, [Step(5, 10, "task_completed")]);

        Assert.True(index.IsReady);
        Assert.Equal(2, index.Version);
        Assert.Equal([5L], index.Match(Ev("task_completed")));
    }

    [Fact]
    public void Load_OlderSnapshotAfterNewer_IsDropped()
    {
        var index = new TriggerIndex();
        index.Load(3, [Step(5, 10, "task_completed")]);
        index.Load(2, [Step(1, 10, "task_completed")]);

        Assert.Equal(3, index.Version);
        Assert.Equal([5L], index.Match(Ev("task_completed")));
    }

    private static TriggerDefinition Filtered(long id, long workflow, string eventName, string filter, long? previous = null) =>
        Step(id, workflow, eventName, previous, new JsonObject { ["event_name"] = eventName, ["filter"] = filter });

    [Fact]
    public void Match_Filter_OnlyEventsItHoldsFor()
    {
        var index = new TriggerIndex();
        index.Load(1,
        [
            Filtered(1, 10, "input_file_uploaded", "event.extra_metadata.score > 0.8 && event.directory_id in [12, 14]"),
            Step(2, 11, "input_file_uploaded"),
        ]);
        Event Upload(double score, long directory) =>
            new() { Kind = "input_file_uploaded", ProjectId = 1, DirectoryId = directory, ExtraMetadata = new JsonObject { ["score"] = score } };

        Assert.Equal([1L, 2L], index.Match(Upload(0.9, 12)));
        Assert.Equal([2L], index.Match(Upload(0.5, 12)));
        Assert.Equal([2L], index.Match(Upload(0.9, 13)));
    }

    [Fact]
    public void Match_FilterFailingAtRuntime_DoesNotMatchAndDoesNotThrow()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(1, 10, "task_completed", "event.extra_metadata.score > 0.8"), Filtered(2, 11, "task_completed", "event.extra_metadata.reviewer.startsWith('a')")]);

        Assert.Empty(index.Match(Ev("task_completed")));
        Assert.Empty(index.Match(new Event { Kind = "task_completed", ProjectId = 1, ExtraMetadata = new JsonObject { ["score"] = "high", ["reviewer"] = 3 } }));
    }

    [Fact]
    public void Match_FilterOnActionCompleted_SeesThePreviousStepsOutput()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(2, 10, "action_completed", "previous.applied_option_id in [3, 4]", previous: 1)]);
        Event Completed(long option) => new()
        {
            Kind = "action_completed", ProjectId = 1, ActionId = 1, WorkflowId = 10, Source = EventSources.Engine,
            ExtraMetadata = new JsonObject { ["applied_option_id"] = option },
        };

        Assert.Equal([2L], index.Match(Completed(4)));
        Assert.Empty(index.Match(Completed(5)));
    }

    [Fact]
    public void Match_FilterOnAHostEvent_HasNoPrevious()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(1, 10, "input_file_uploaded", "previous == null")]);

        Assert.Equal([1L], index.Match(new Event { Kind = "input_file_uploaded", ProjectId = 1, ExtraMetadata = new JsonObject { ["x"] = 1 } }));
    }

    [Fact]
    public void Load_FilterThatDoesNotCompile_StepNeverMatches()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(1, 10, "task_completed", "event.kind =="), Step(2, 10, "task_completed", trigger: new JsonObject { ["event_name"] = "task_completed", ["filter"] = 5 })]);

        Assert.Empty(index.Match(Ev("task_completed")));
    }
}
