using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Events sent over HTTP by many clients at once: the API shares its reads (key, project, definitions version) and
/// commits the events of concurrent requests together, and each request is answered only for its own event.
/// </summary>
public sealed class EventAcceptanceTests
{
    private const int Distinct = 120;

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task EmitEvent_ManyConcurrentRequestsWithTwoKeys_EachEventAcceptedOnceAndRunExactlyOnce(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(host);
        await pipeline.CreateWorkflowAsync(project.Id, "on upload", true, ("noop", "input_file_uploaded", new JsonObject(), null));

        // Every event twice at once, under one idempotency key, through two different API keys.
        var sends = Enumerable.Range(0, Distinct * 2).Select(n => (n % 2 == 0 ? project.Editor : project.Admin).PostAsync(
            project.P("events"),
            new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1000 + (n / 2), ["idempotency_key"] = $"upload-{n / 2}" }));
        var answers = await Task.WhenAll(sends);

        Assert.All(answers, a => ApiAssert.Ok(a, HttpStatusCode.Accepted));
        var accepted = new HashSet<long>();
        for (var i = 0; i < Distinct; i++)
        {
            var (first, second) = (answers[2 * i].Json, answers[(2 * i) + 1].Json);
            var eventId = (long)first["event"]!["id"]!;
            Assert.Equal(eventId, (long)second["event"]!["id"]!);
            Assert.Equal(1000 + i, (long)first["event"]!["file_id"]!);
            // Exactly one of the two copies recorded the event and started its step.
            Assert.Equal(new[] { false, true }, new[] { (bool)first["duplicate"]!, (bool)second["duplicate"]! }.Order().ToArray());
            Assert.Equal(1, (int)first["triggered_steps"]! + (int)second["triggered_steps"]!);
            accepted.Add(eventId);
        }

        Assert.Equal(Distinct, accepted.Count);
        await pipeline.WaitUntilSettledAsync(TimeSpan.FromSeconds(90));
        var runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal(Distinct, runs.Count);
        Assert.All(runs, r => Assert.Equal(ActionRunStatus.Succeeded, r.Status));
        Assert.All(runs, r => Assert.Equal(1, r.Attempt));
        Assert.Equal(accepted.Order(), runs.Select(r => r.EventId).Order());
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task EmitEvent_DatabaseRefusesTheBatch_EachWaitingRequestGetsAProblemAndNothingIsRecorded(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(host);
        await pipeline.CreateWorkflowAsync(project.Id, "on upload", true, ("noop", "input_file_uploaded", new JsonObject(), null));
        await RefuseEventInsertsAsync(pipeline, refuse: true);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => project.Editor.PostAsync(
            project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 2000 + i }))); // ApiClient gives up after 30 s: a hang fails

        Assert.All(answers, a => ApiAssert.Problem(a, HttpStatusCode.InternalServerError));
        Assert.Empty(await pipeline.RunsAsync(project.Id));
        Assert.DoesNotContain(await pipeline.EventsAsync(), e => e.ProjectId == project.Id);

        // The next requests are not stuck behind the failed flush.
        await RefuseEventInsertsAsync(pipeline, refuse: false);
        var after = await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 3000 });
        ApiAssert.Ok(after, HttpStatusCode.Accepted);
        await pipeline.WaitUntilSettledAsync();
        var run = Assert.Single(await pipeline.RunsAsync(project.Id));
        Assert.Equal(ActionRunStatus.Succeeded, run.Status);
        Assert.Equal((long)after.Json["event"]!["id"]!, run.EventId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task EmitEvent_ThreeStepChainsSentToOneOfTwoWorkers_RunWhereAnsweredUnlessDetachedChainsIsZero(string? detachedChains)
    {
        const int Chains = 30;
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var settings = detachedChains is null ? null : new Dictionary<string, string> { ["Actionflow__Engine__DetachedChains"] = detachedChains };
        var front = await pipeline.StartWorkerAsync(settings);
        await pipeline.StartWorkerAsync(settings);
        using var project = await TestProject.CreateAsync(front);
        await pipeline.CreateWorkflowAsync(project.Id, "three", true,
            ("noop", "input_file_uploaded", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null));

        var answers = await Task.WhenAll(Enumerable.Range(1, Chains).Select(i => project.Editor.PostAsync(
            project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = i })));

        Assert.All(answers, a => ApiAssert.Ok(a, HttpStatusCode.Accepted));
        Assert.True(await Pipeline.EventuallyAsync(
            async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) == 3 * Chains, TimeSpan.FromSeconds(90)),
            "every step of every chain should succeed");
        var runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal(3 * Chains, runs.Count);
        Assert.All(runs, r => Assert.Equal(1, r.Attempt));
        var workers = runs.Select(r => r.WorkerId).Distinct().Count();
        if (detachedChains is null)
        {
            // No trigger message at all: the worker that answered the requests ran every step after its 202.
            Assert.Equal(1, workers);
        }
        else
        {
            // Every step went through the actions queue, which hands its messages to both workers in turn.
            Assert.Equal(2, workers);
        }
    }

    [Fact]
    public async Task EmitEvent_MoreSlowChainsThanDetachedChainsAllows_TheRestGoThroughTheActionsQueue()
    {
        const int Events = 10;
        await using var receiver = await WebhookReceiver.StartAsync("s");
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var settings = new Dictionary<string, string> { ["Actionflow__Engine__DetachedChains"] = "1" };
        var front = await pipeline.StartWorkerAsync(settings);
        await pipeline.StartWorkerAsync(settings);
        using var project = await TestProject.CreateAsync(front);
        await pipeline.CreateWorkflowAsync(project.Id, "slow", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("slow/overflow") }, null));

        // One request at a time: the first event's step holds the only place for 3 s, while the others are answered.
        for (var i = 1; i <= Events; i++)
        {
            ApiAssert.Ok(await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = i }), HttpStatusCode.Accepted);
        }

        Assert.True(await Pipeline.EventuallyAsync(
            async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) == Events, TimeSpan.FromSeconds(90)),
            "every step should succeed");
        var runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal(Events, runs.Count);
        // The queue hands the nine others to both workers; had every step stayed in the front worker, there would be one.
        Assert.Equal(2, runs.Select(r => r.WorkerId).Distinct().Count());
        Assert.Equal(Events, receiver.Deliveries.Count);
    }

    /// <summary>A trigger that makes every insert into <c>events</c> fail, as a database that refuses a commit would.</summary>
    private static async Task RefuseEventInsertsAsync(Pipeline pipeline, bool refuse)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        string[] statements = (pipeline.Mode, refuse) switch
        {
            (PipelineMode.Embedded, true) => ["CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events refused by the test'); END"],
            (PipelineMode.Embedded, false) => ["DROP TRIGGER refuse_events"],
            (_, true) =>
            [
                "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events refused by the test'; END $$",
                "CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events()",
            ],
            (_, false) => ["DROP TRIGGER refuse_events ON events"],
        };
        foreach (var sql in statements)
        {
            await db.Database.ExecuteSqlRawAsync(sql);
        }
    }
}
