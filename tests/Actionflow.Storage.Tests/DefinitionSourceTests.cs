using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class DefinitionSourceTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task GetVersionAsync_WorkflowAndActionChanges_BumpsOncePerSave()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1)]);
        Assert.Equal(2, await Definitions.GetVersionAsync(default));

        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync(a => a.Id == flow.ActionIds[1]);
            action.Archived = true;
            await db.SaveChangesAsync();
        }

        Assert.Equal(3, await Definitions.GetVersionAsync(default));

        await using (var db = await Db.ContextAsync())
        {
            db.Workflows.Remove(await db.Workflows.SingleAsync());
            await db.SaveChangesAsync();
        }

        Assert.Equal(4, await Definitions.GetVersionAsync(default));
    }

    [Fact]
    public async Task GetVersionAsync_OtherChanges_DoNotBump()
    {
        await using (var db = await Db.ContextAsync())
        {
            db.Projects.Add(new Project { StringId = "p1", Name = "P", TimeCreated = T0 });
            await db.SaveChangesAsync();
        }

        await Pipeline.AcceptEventAsync(NewEvent(1), Steps(1), default);

        Assert.Equal(0, await Definitions.GetVersionAsync(default));
    }

    [Fact]
    public async Task GetVersionAsync_SaveInCallerTransactionRolledBack_DoesNotBump()
    {
        await using (var db = await Db.ContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Workflows.Add(new Workflow { ProjectId = 1, Name = "x", Active = true, TimeCreated = T0, TimeUpdated = T0 });
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(0, await Definitions.GetVersionAsync(default));
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

        Assert.Equal(1, await Definitions.GetVersionAsync(default));
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
}
