using System.Text.Json.Nodes;
using Actionflow.Core.Engine;

namespace Actionflow.Core.Tests;

public sealed class ActionEventTests
{
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void ToActionEvent_PayloadAndMetadata_AreTheEventsInDiffgramShape()
    {
        var ev = DiffgramEventCodec.TryParse("{\"id\": 4, \"kind\": \"task_completed\", \"project_id\": 2, \"task_id\": 3, \"extra_metadata\": {\"a\": [1]}}"u8, Now, out _)!;
        ev.Id = 50;

        var actionEvent = StepInvoker.ToActionEvent(ev);

        Assert.Equal((50L, "task_completed", 2L, 3L), (actionEvent.Id, actionEvent.Kind, actionEvent.ProjectId, actionEvent.TaskId!.Value));
        Assert.Equal(DiffgramEventCodec.ToDiffgramJson(ev).ToJsonString(), actionEvent.Payload.ToJsonString());
        Assert.Equal("{\"a\":[1]}", actionEvent.ExtraMetadata.ToJsonString());
        Assert.Same(actionEvent.Payload, actionEvent.Payload);
        Assert.Same(actionEvent.ExtraMetadata, actionEvent.ExtraMetadata);
    }

    [Fact]
    public void ToActionEvent_RunnerChangesItsCopy_TheEventKeepsItsOwn()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1, \"extra_metadata\": {\"a\": 1}}"u8, Now, out _)!;

        var actionEvent = StepInvoker.ToActionEvent(ev);
        actionEvent.ExtraMetadata["a"] = 2;
        actionEvent.Payload["kind"] = "changed";

        Assert.Equal(1, (int)ev.ExtraMetadata["a"]!);
        Assert.Equal("x", (string)ev.Payload["kind"]!);
        Assert.Equal(1, (int)StepInvoker.ToActionEvent(ev).ExtraMetadata["a"]!);
    }

    [Fact]
    public void ToActionEvent_GivenPayload_IsTheOneSeen()
    {
        var ev = DiffgramEventCodec.TryRead(new JsonObject { ["kind"] = "x", ["project_id"] = 1 }, Now, out _)!;
        var payload = new JsonObject { ["custom"] = true };

        Assert.Same(payload, StepInvoker.ToActionEvent(ev, payload).Payload);
    }

    [Fact]
    public void ToActionEvent_ReadFromManyThreads_AllSeeOneObject()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1}"u8, Now, out _)!;
        var actionEvent = StepInvoker.ToActionEvent(ev);

        var seen = new JsonObject[16];
        Parallel.For(0, seen.Length, i => seen[i] = actionEvent.Payload);

        Assert.All(seen, p => Assert.Same(seen[0], p));
    }
}
