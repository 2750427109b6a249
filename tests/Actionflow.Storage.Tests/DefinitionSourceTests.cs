using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class DefinitionSourceTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task GetStampAsync_WorkflowAndActionChanges_BumpsOncePerSave()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1)]);
        Assert.Equal(2, (await Definitions.GetStampAsync(default)).Version);

        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync(a => a.Id == flow.ActionIds[1]);
            action.Archived = true;
            await db.SaveChangesAsync();
        }

        Assert.Equal(3, (await Definitions.GetStampAsync(default)).Version);

        await using (var db = await Db.ContextAsync())
        {
            db.Workflows.Remove(await db.Workflows.SingleAsync());
            await db.SaveChangesAsync();
        }

        Assert.Equal(4, (await Definitions.GetStampAsync(default)).Version);
    }

    [Fact]
    public async Task GetStampAsync_OtherChanges_DoNotBump()
    {
        await using (var db = await Db.ContextAsync())
        {
            db.Projects.Add(new Project { StringId = "p1", Name = "P", TimeCreated = T0 });
            await db.SaveChangesAsync();
        }

        await Pipeline.AcceptEventAsync(NewEvent(1), Steps(1), default);

        Assert.Equal(0, (await Definitions.GetStampAsync(default)).Version);
    }

    [Fact]
    public async Task GetStampAsync_SaveInCallerTransactionRolledBack_DoesNotBump()
    {
        await using (var db = await Db.ContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Workflows.Add(new Workflow { ProjectId = 1, Name = "x", Active = true, TimeCreated = T0, TimeUpdated = T0 });
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(0, (await Definitions.GetStampAsync(default)).Version);
        await using var check = await Db.ContextAsync();
        Assert.Equal(0, await check.Workflows.CountAsync());
    }

    [Fact]
    public async Task SaveChanges_Synchronous_AlsoBumps()
    {
        using (var db = await Db.ContextAsync())
        {
            db.Workflows.Add(new Workflow { ProjectId = 1, Name = "x", Active = true, TimeCreated = T0, TimeUpdated = T0 });
            db.SaveChanges();
        }

        Assert.Equal(1, (await Definitions.GetStampAsync(default)).Version);
    }

    [Fact]
    public async Task LoadTriggersAsync_MixedWorkflows_OnlyLiveStepsWithPreviousSkippingArchived()
    {
        var live = await SeedWorkflowAsync(1, steps:
        [
            new Step(0, "input_file_uploaded"),
            new Step(1, "action_completed", Archived: true),
            new Step(2, "action_completed"),
            new Step(3, "action_completed", Active: false),
            new Step(4, EventName: null),
            new Step(5, "action_completed"),
        ]);
        await SeedWorkflowAsync(2, active: false, steps: new Step(0));
        await SeedWorkflowAsync(3, archived: true, steps: new Step(0));

        var triggers = await Definitions.LoadTriggersAsync(default);

        Assert.Equal([live.ActionIds[0], live.ActionIds[2], live.ActionIds[5]], triggers.Select(t => t.ActionId).Order());
        var byId = triggers.ToDictionary(t => t.ActionId);
        Assert.Null(byId[live.ActionIds[0]].PreviousActionId);
        Assert.Equal(live.ActionIds[0], byId[live.ActionIds[2]].PreviousActionId);
        Assert.Equal(live.ActionIds[4], byId[live.ActionIds[5]].PreviousActionId);
        var first = byId[live.ActionIds[0]];
        Assert.Equal((1L, live.WorkflowId, "webhook", 0, "input_file_uploaded"), (first.ProjectId, first.WorkflowId, first.Kind, first.Ordinal, first.EventName));
        Assert.Equal("http://127.0.0.1:9/hook", first.ConfigData["url"]!.GetValue<string>());
        Assert.Equal("input_file_uploaded", first.TriggerData["event_name"]!.GetValue<string>());

        // Each trigger carries the step as the actions consumer re-checks it, with the same order as LoadActionAsync.
        foreach (var index in new[] { 0, 2, 5 })
        {
            var fromIndex = byId[live.ActionIds[index]].Snapshot!;
            var fromStore = (await Pipeline.LoadActionAsync(live.ActionIds[index], default))!;
            Assert.Equal(
                (fromStore.Action.Id, fromStore.PreviousActionId, fromStore.HasNextStep, fromStore.WorkflowActive, fromStore.WorkflowArchived),
                (fromIndex.Action.Id, fromIndex.PreviousActionId, fromIndex.HasNextStep, fromIndex.WorkflowActive, fromIndex.WorkflowArchived));
            Assert.Equal(fromStore.Action.ConfigData.ToJsonString(), fromIndex.Action.ConfigData.ToJsonString());
        }

        Assert.False(byId[live.ActionIds[5]].Snapshot!.HasNextStep);
        Assert.True(byId[live.ActionIds[2]].Snapshot!.HasNextStep);
    }

    [Fact]
    public async Task LoadTriggersAsync_ManyWorkflows_ShareNamesAndKeepEveryStepsContent()
    {
        var a = await SeedWorkflowAsync(1, steps: [new Step(0, "task_completed"), new Step(1, "action_completed")]);
        var b = await SeedWorkflowAsync(2, steps: new Step(0, "task_completed"));
        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync(s => s.Id == b.ActionIds[0]);
            action.ConfigData = new JsonObject { ["headers"] = new JsonObject { ["x"] = "y" }, ["codes"] = new JsonArray(200, 201), ["strict"] = true };
            await db.SaveChangesAsync();
        }

        var byId = (await Definitions.LoadTriggersAsync(default)).ToDictionary(t => t.ActionId);

        var (first, second) = (byId[a.ActionIds[0]], byId[b.ActionIds[0]]);
        Assert.Same(first.EventName, second.EventName);
        Assert.Same(first.Kind, second.Kind);
        Assert.Same(first.TriggerData.Single().Key, second.TriggerData.Single().Key);
        Assert.Same(first.TriggerData, first.Snapshot!.Action.TriggerData);
        Assert.Same(first.ConfigData, first.Snapshot.Action.ConfigData);
        foreach (var id in new[] { a.ActionIds[0], a.ActionIds[1], b.ActionIds[0] })
        {
            var fromStore = (await Pipeline.LoadActionAsync(id, default))!.Action;
            var fromIndex = byId[id].Snapshot!.Action;
            Assert.True(JsonNode.DeepEquals(fromStore.ConfigData, fromIndex.ConfigData), fromIndex.ConfigData.ToJsonString());
            Assert.True(JsonNode.DeepEquals(fromStore.TriggerData, fromIndex.TriggerData), fromIndex.TriggerData.ToJsonString());
            Assert.Equal((fromStore.Kind, fromStore.PublicName, fromStore.JoinMode), (fromIndex.Kind, fromIndex.PublicName, fromIndex.JoinMode));
        }

        Assert.Equal(201, second.ConfigData["codes"]![1]!.GetValue<int>());
    }

    [Fact]
    public async Task LoadTriggersAsync_EqualColumnsAcrossSteps_OneInstanceEachAndDifferentOnesApart()
    {
        var a = await SeedWorkflowAsync(1, steps: new Step(0, "task_completed"));
        var b = await SeedWorkflowAsync(2, steps: new Step(0, "task_completed"));
        var c = await SeedWorkflowAsync(3, steps: new Step(0, "task_completed"));
        await using (var db = await Db.ContextAsync())
        {
            foreach (var id in new[] { a.ActionIds[0], b.ActionIds[0] })
            {
                (await db.Actions.SingleAsync(s => s.Id == id)).ConfigData = new JsonObject { ["url"] = "https://example.test/hook" };
            }

            (await db.Actions.SingleAsync(s => s.Id == c.ActionIds[0])).ConfigData = new JsonObject { ["url"] = "https://example.test/other" };
            await db.SaveChangesAsync();
        }

        var byId = (await Definitions.LoadTriggersAsync(default)).ToDictionary(t => t.ActionId);

        var (first, second, third) = (byId[a.ActionIds[0]].Snapshot!.Action, byId[b.ActionIds[0]].Snapshot!.Action, byId[c.ActionIds[0]].Snapshot!.Action);
        Assert.Same(first.TriggerData, second.TriggerData);
        Assert.Same(first.TriggerData, third.TriggerData);
        Assert.Same(first.Precondition, third.Precondition);
        Assert.Same(first.ConfigData, second.ConfigData);
        Assert.NotSame(first.ConfigData, third.ConfigData);
        Assert.Equal("https://example.test/other", third.ConfigData["url"]!.GetValue<string>());
        Assert.Equal("https://example.test/hook", byId[b.ActionIds[0]].ConfigData["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task LoadTriggersAsync_OnlyTemplateDefaultEventName_UsesIt()
    {
        var flow = await SeedWorkflowAsync(1, steps: new Step(0, EventName: null));
        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync();
            action.TriggerData = new JsonObject { ["default_event_name"] = "task_completed" };
            await db.SaveChangesAsync();
        }

        var trigger = Assert.Single(await Definitions.LoadTriggersAsync(default));

        Assert.Equal((flow.ActionIds[0], "task_completed"), (trigger.ActionId, trigger.EventName));
    }

    [Fact]
    public async Task LoadTriggersAsync_OneStepWithNonStringEventName_SkipsOnlyThatStep()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, EventName: null)]);
        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync(a => a.Id == flow.ActionIds[1]);
            action.TriggerData = new JsonObject { ["event_name"] = 12 };
            await db.SaveChangesAsync();
        }

        var trigger = Assert.Single(await Definitions.LoadTriggersAsync(default));

        Assert.Equal(flow.ActionIds[0], trigger.ActionId);
    }
    /// <summary>20 workflows of two steps each in projects 1..20, and the version they were saved at.</summary>
    private async Task<(List<SeededWorkflow> Flows, long Version)> SeedManyAsync()
    {
        var flows = new List<SeededWorkflow>();
        for (var project = 1; project <= 20; project++)
        {
            flows.Add(await SeedWorkflowAsync(project, steps: [new Step(0, "task_completed"), new Step(1, "action_completed")]));
        }

        return (flows, (await Definitions.GetStampAsync(default)).Version);
    }

    private async Task ChangeAsync(long actionId, Action<WorkflowAction> change)
    {
        await using var db = await Db.ContextAsync();
        change(await db.Actions.SingleAsync(a => a.Id == actionId));
        await db.SaveChangesAsync();
    }

    private async Task ChangeWorkflowAsync(long workflowId, Action<Workflow> change)
    {
        await using var db = await Db.ContextAsync();
        change(await db.Workflows.SingleAsync(w => w.Id == workflowId));
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task LoadChangesAsync_OneStepOfOneWorkflowAmongManyChanged_LoadsOnlyThatWorkflow()
    {
        var (flows, version) = await SeedManyAsync();

        await ChangeAsync(flows[7].ActionIds[1], a => a.ConfigData = new JsonObject { ["url"] = "http://127.0.0.1:9/changed" });

        var changes = (await Definitions.LoadChangesAsync(version, 100, default))!;
        Assert.Equal([flows[7].WorkflowId], changes.WorkflowIds);
        Assert.Equal(flows[7].ActionIds.Order(), changes.Triggers.Select(t => t.ActionId).Order());
        var changed = changes.Triggers.Single(t => t.ActionId == flows[7].ActionIds[1]);
        Assert.Equal("http://127.0.0.1:9/changed", changed.ConfigData["url"]!.GetValue<string>());
        Assert.Equal(flows[7].ActionIds[0], changed.PreviousActionId);
        Assert.Equal(version + 1, (await Definitions.GetStampAsync(default)).Version);
        Assert.Empty((await Definitions.LoadChangesAsync(version + 1, 100, default))!.WorkflowIds);
    }

    [Fact]
    public async Task LoadChangesAsync_WorkflowDeactivatedOrArchived_ComesBackWithNoTriggers()
    {
        var (flows, version) = await SeedManyAsync();

        await ChangeWorkflowAsync(flows[3].WorkflowId, w => w.Active = false);
        await ChangeWorkflowAsync(flows[4].WorkflowId, w => w.Archived = true);
        await ChangeAsync(flows[5].ActionIds[0], a => a.Archived = true);

        var changes = (await Definitions.LoadChangesAsync(version, 100, default))!;
        Assert.Equal([flows[3].WorkflowId, flows[4].WorkflowId, flows[5].WorkflowId], changes.WorkflowIds);
        var trigger = Assert.Single(changes.Triggers);
        Assert.Equal(flows[5].ActionIds[1], trigger.ActionId);
        Assert.Null(trigger.PreviousActionId);
    }

    [Fact]
    public async Task LoadChangesAsync_StepAddedToAnExistingWorkflow_ComesWithTheWholeWorkflow()
    {
        var (flows, version) = await SeedManyAsync();

        long added;
        await using (var db = await Db.ContextAsync())
        {
            var step = new WorkflowAction
            {
                ProjectId = 9,
                WorkflowId = flows[8].WorkflowId,
                Kind = "webhook",
                PublicName = "webhook",
                Ordinal = 2,
                Active = true,
                TriggerData = new JsonObject { ["event_name"] = "action_completed" },
                ConfigData = new JsonObject { ["url"] = "http://127.0.0.1:9/hook" },
                TimeCreated = T0,
                TimeUpdated = T0,
            };
            db.Actions.Add(step);
            await db.SaveChangesAsync();
            added = step.Id;
        }

        var changes = (await Definitions.LoadChangesAsync(version, 100, default))!;
        Assert.Equal([flows[8].WorkflowId], changes.WorkflowIds);
        Assert.Equal([.. flows[8].ActionIds, added], changes.Triggers.Select(t => t.ActionId).Order());
        Assert.Equal(flows[8].ActionIds[1], changes.Triggers.Single(t => t.ActionId == added).PreviousActionId);
        Assert.True(changes.Triggers.Single(t => t.ActionId == flows[8].ActionIds[1]).Snapshot!.HasNextStep);
    }

    [Fact]
    public async Task LoadChangesAsync_MoreWorkflowsChangedThanAllowed_ReturnsNull()
    {
        var (flows, version) = await SeedManyAsync();

        foreach (var flow in flows.Take(3))
        {
            await ChangeWorkflowAsync(flow.WorkflowId, w => w.Name = "renamed");
        }

        Assert.Null(await Definitions.LoadChangesAsync(version, 2, default));
        Assert.Equal(3, (await Definitions.LoadChangesAsync(version, 3, default))!.WorkflowIds.Count);
    }

    [Fact]
    public async Task GetStampAsync_WorkflowRowDeleted_AsksForAFullReload()
    {
        var (flows, version) = await SeedManyAsync();
        await ChangeAsync(flows[1].ActionIds[0], a => a.Active = false);
        Assert.Equal(new DefinitionsStamp(version + 1, 0), await Definitions.GetStampAsync(default));

        await using (var db = await Db.ContextAsync())
        {
            db.Workflows.Remove(await db.Workflows.SingleAsync(w => w.Id == flows[2].WorkflowId));
            await db.SaveChangesAsync();
        }

        Assert.Equal(new DefinitionsStamp(version + 2, version + 2), await Definitions.GetStampAsync(default));
    }

    private DefinitionsRefresher Refresher(TriggerIndex index) =>
        new(index, Definitions, Options.Create(new EngineOptions()), TimeProvider.System, NullLogger<DefinitionsRefresher>.Instance);

    [Fact]
    public async Task RefreshAsync_OneWorkflowChanged_ReplacesOnlyItsStepsInTheIndex()
    {
        var (flows, version) = await SeedManyAsync();
        var index = new TriggerIndex();
        var refresher = Refresher(index);
        Assert.True(await refresher.RefreshAsync(force: true, default));
        Assert.True(index.TryGetStep(flows[0].ActionIds[0], out var untouched));
        Assert.Equal(40, index.Count);

        await ChangeAsync(flows[7].ActionIds[0], a => a.TriggerData = new JsonObject { ["event_name"] = "task_created" });
        await ChangeWorkflowAsync(flows[9].WorkflowId, w => w.Active = false);
        Assert.True(await refresher.RefreshAsync(force: false, default));

        Assert.Equal(version + 2, index.Version);
        Assert.Equal(38, index.Count);
        Assert.Equal([flows[7].ActionIds[0]], index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 8, Kind = "task_created" }));
        Assert.Empty(index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 8, Kind = "task_completed" }));
        Assert.Empty(index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 10, Kind = "task_completed" }));
        Assert.False(index.TryGetStep(flows[9].ActionIds[0], out _));
        Assert.Equal([flows[0].ActionIds[0]], index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 1, Kind = "task_completed" }));
        // The other workflows' steps are the very objects of the first load: nothing of theirs was read again.
        Assert.True(index.TryGetStep(flows[0].ActionIds[0], out var after));
        Assert.Same(untouched, after);
        Assert.False(await refresher.RefreshAsync(force: false, default));
    }

    [Fact]
    public async Task RefreshAsync_ConfigSharedByManyStepsChangedInOne_OnlyThatStepSeesTheChange()
    {
        var (flows, _) = await SeedManyAsync();
        var index = new TriggerIndex();
        var refresher = Refresher(index);
        await refresher.RefreshAsync(force: true, default);
        Assert.True(index.TryGetStep(flows[3].ActionIds[0], out var before));
        Assert.True(index.TryGetStep(flows[4].ActionIds[0], out var sibling));
        Assert.Same(before.Action.ConfigData, sibling.Action.ConfigData);

        await ChangeAsync(flows[3].ActionIds[0], a => a.ConfigData = new JsonObject { ["url"] = "http://127.0.0.1:9/changed", ["ordinal"] = 0 });
        Assert.True(await refresher.RefreshAsync(force: false, default));

        Assert.True(index.TryGetStep(flows[3].ActionIds[0], out var changed));
        Assert.Equal("http://127.0.0.1:9/changed", changed.Action.ConfigData["url"]!.GetValue<string>());
        Assert.True(index.TryGetStep(flows[4].ActionIds[0], out var other));
        Assert.Same(sibling, other);
        Assert.Equal("http://127.0.0.1:9/hook", other.Action.ConfigData["url"]!.GetValue<string>());
        Assert.Equal("http://127.0.0.1:9/hook", before.Action.ConfigData["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task RefreshAsync_WorkflowRowDeleted_ReloadsInFull()
    {
        var (flows, _) = await SeedManyAsync();
        var index = new TriggerIndex();
        var refresher = Refresher(index);
        await refresher.RefreshAsync(force: true, default);
        Assert.True(index.TryGetStep(flows[0].ActionIds[0], out var before));

        await using (var db = await Db.ContextAsync())
        {
            db.Workflows.Remove(await db.Workflows.SingleAsync(w => w.Id == flows[2].WorkflowId));
            await db.SaveChangesAsync();
        }

        Assert.True(await refresher.RefreshAsync(force: false, default));

        Assert.Equal(38, index.Count);
        Assert.Empty(index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 3, Kind = "task_completed" }));
        Assert.True(index.TryGetStep(flows[0].ActionIds[0], out var after));
        Assert.NotSame(before, after);
    }
}
