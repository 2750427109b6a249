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
        new() { ExtraMetadata = [], Payload = [], Kind = kind, ProjectId = project, DirectoryId = directory, ActionId = action, WorkflowId = workflow };

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
            new() { Payload = [], Kind = "input_file_uploaded", ProjectId = 1, DirectoryId = directory, ExtraMetadata = new JsonObject { ["score"] = score } };

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
        Assert.Empty(index.Match(new Event { Payload = [], Kind = "task_completed", ProjectId = 1, ExtraMetadata = new JsonObject { ["score"] = "high", ["reviewer"] = 3 } }));
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
            Payload = [],
        };

        Assert.Equal([2L], index.Match(Completed(4)));
        Assert.Empty(index.Match(Completed(5)));
    }

    [Fact]
    public void Match_FilterOnAHostEvent_HasNoPrevious()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(1, 10, "input_file_uploaded", "previous == null")]);

        Assert.Equal([1L], index.Match(new Event { Payload = [], Kind = "input_file_uploaded", ProjectId = 1, ExtraMetadata = new JsonObject { ["x"] = 1 } }));
    }

    [Fact]
    public void Load_FilterThatDoesNotCompile_StepNeverMatches()
    {
        var index = new TriggerIndex();
        index.Load(1, [Filtered(1, 10, "task_completed", "event.kind =="), Step(2, 10, "task_completed", trigger: new JsonObject { ["event_name"] = "task_completed", ["filter"] = 5 })]);

        Assert.Empty(index.Match(Ev("task_completed")));
    }
    private static TriggerDefinition Live(long id, long workflow, string eventName, long project = 1) =>
        Step(id, workflow, eventName, project: project) with
        {
            Snapshot = new ActionSnapshot(
                new WorkflowAction { Id = id, WorkflowId = workflow, ProjectId = project, Kind = "noop", PublicName = "noop", Active = true, TriggerData = new JsonObject { ["event_name"] = eventName } },
                true, false, null, false),
        };

    /// <summary>1,000 workflows of one step each (step id = workflow id × 10), spread over 7 projects, at version 1.</summary>
    private static TriggerIndex ThousandWorkflows()
    {
        var index = new TriggerIndex();
        index.Load(1, [.. Enumerable.Range(1, 1000).Select(w => Live(w * 10, w, "task_completed", project: w % 7))]);
        return index;
    }

    [Fact]
    public void Apply_OneWorkflowAmongMany_ReplacesOnlyItsSteps()
    {
        var index = ThousandWorkflows();
        Assert.True(index.TryGetStep(60, out var untouched));

        // Workflow 5 (project 5): its step 50 on task_completed becomes step 51 on input_file_uploaded, plus step 52.
        Assert.True(index.Apply(1, 2, new DefinitionChanges([5], [Live(51, 5, "input_file_uploaded", project: 5), Live(52, 5, "task_completed", project: 5)])));

        Assert.Equal(2, index.Version);
        Assert.Equal(1001, index.Count);
        Assert.Equal([51L], index.Match(Ev("input_file_uploaded", project: 5)));
        var expected = Enumerable.Range(1, 1000).Where(w => w % 7 == 5 && w != 5).Select(w => (long)w * 10).Append(52).Order();
        Assert.Equal(expected, index.Match(Ev("task_completed", project: 5)).Order());
        Assert.False(index.TryGetStep(50, out _));
        Assert.True(index.TryGetStep(51, out _));
        Assert.True(index.TryGetStep(60, out var after));
        Assert.Same(untouched, after);
    }

    [Fact]
    public void Apply_WorkflowWithNoTriggersLeft_RemovesItsSteps()
    {
        var index = ThousandWorkflows();

        Assert.True(index.Apply(1, 2, new DefinitionChanges([7, 14], [])));

        Assert.Equal(998, index.Count);
        Assert.False(index.TryGetStep(70, out _));
        Assert.False(index.TryGetStep(140, out _));
        Assert.DoesNotContain(70L, index.Match(Ev("task_completed", project: 0)));
        Assert.Contains(210L, index.Match(Ev("task_completed", project: 0)));
    }

    [Fact]
    public void Apply_NewWorkflow_IsMatched()
    {
        var index = ThousandWorkflows();

        Assert.True(index.Apply(1, 2, new DefinitionChanges([5000], [Live(50000, 5000, "task_created", project: 3)])));

        Assert.Equal([50000L], index.Match(Ev("task_created", project: 3)));
        Assert.Equal(1001, index.Count);
    }

    [Fact]
    public void Apply_IndexMovedSinceTheChangesWereRead_ChangesNothing()
    {
        var index = ThousandWorkflows();
        index.Load(3, [Live(10, 1, "task_completed", project: 1)]);

        Assert.False(index.Apply(1, 2, new DefinitionChanges([1], [])));

        Assert.Equal(3, index.Version);
        Assert.Equal([10L], index.Match(Ev("task_completed", project: 1)));
    }

    [Fact]
    public void Apply_TriggerOfAWorkflowNotNamed_Throws()
    {
        var index = ThousandWorkflows();

        Assert.Throws<ArgumentException>(() => index.Apply(1, 2, new DefinitionChanges([5], [Live(61, 6, "task_completed")])));
        Assert.Equal(1, index.Version);
    }
}
