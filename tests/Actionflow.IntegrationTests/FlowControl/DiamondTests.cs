using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests.FlowControl;

/// <summary>
/// A diamond (A → B, C → D, D joining B and C) over many events while a worker is killed: D runs exactly once per
/// event, with both predecessors' outputs, and every workflow run ends succeeded after D.
/// </summary>
public sealed class DiamondTests(ITestOutputHelper output)
{
    private const int Events = 2000;

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres, 2)]
    [InlineData(PipelineMode.Embedded, 1)]
    public async Task Diamond_KillNineDuringLoad_JoinRunsExactlyOncePerEvent(PipelineMode mode, int workerCount)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var workers = new List<ActionflowProcess>();
        for (var i = 0; i < workerCount; i++)
        {
            workers.Add(await pipeline.StartWorkerAsync());
        }

        var project = await pipeline.CreateProjectAsync("diamond");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "diamond", true,
            ("noop", "input_file_uploaded", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        var (a, b, c, d) = (steps[0].Id, steps[1].Id, steps[2].Id, steps[3].Id);
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var rows = await db.Set<WorkflowAction>().Where(s => s.WorkflowId == workflow.Id).ToDictionaryAsync(s => s.Id);
            rows[b].DependsOn = [a];
            rows[c].DependsOn = [a];
            rows[d].DependsOn = [b, c];
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        var load = pipeline.PublishManyAsync([.. Enumerable.Range(1, Events).Select(i =>
            Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: i).ToJsonString()))]);

        // Kill a worker once a third of the joins ran: mid-diamond for many workflow runs.
        Assert.True(await Pipeline.EventuallyAsync(async () => await CountAsync(pipeline, d) >= Events / 3, TimeSpan.FromMinutes(3)), "a third of the joins should run");
        workers[0].Kill();
        workers[0] = await pipeline.StartWorkerAsync();
        await load;

        var drained = await Pipeline.EventuallyAsync(async () => await CountAsync(pipeline, d) >= Events && await OpenAsync(pipeline) == 0, TimeSpan.FromMinutes(4));
        var runs = await pipeline.RunsAsync();
        var joins = runs.Where(r => r.ActionId == d).ToList();
        var line = string.Create(CultureInfo.InvariantCulture,
            $"diamond mode={mode} workers={workerCount} events={Events} joins={joins.Count} distinct={joins.Select(r => r.WorkflowRunId).Distinct().Count()} open={runs.Count(r => !r.Status.IsTerminal())}");
        output.WriteLine(line);
        Assert.True(drained, line);

        Assert.Equal(Events, joins.Count);
        Assert.Equal(Events, joins.Select(r => r.WorkflowRunId).Distinct().Count());
        Assert.All(joins, r => Assert.Equal(ActionRunStatus.Succeeded, r.Status));
        foreach (var step in (long[])[a, b, c])
        {
            Assert.Equal(Events, runs.Count(r => r.ActionId == step && r.Status == ActionRunStatus.Succeeded));
        }

        await using var check = await pipeline.Contexts.CreateDbContextAsync();
        Assert.Equal(Events, await check.Set<WorkflowRun>().CountAsync(w => w.Status == WorkflowRunStatus.Succeeded));
        Assert.Equal(Events, await check.Set<JoinState>().CountAsync(j => j.ActionId == d && j.Decision == "run"));

        // The join's input: both predecessors' outputs, keyed by step id.
        var joinEventIds = joins.Take(20).Select(r => r.EventId).ToList();
        var joinEvents = await check.Set<Event>().Where(e => joinEventIds.Contains(e.Id)).ToListAsync();
        Assert.All(joinEvents, e =>
        {
            var outputs = e.ExtraMetadata["steps"]!.AsObject();
            Assert.Equal([b.ToString(CultureInfo.InvariantCulture), c.ToString(CultureInfo.InvariantCulture)], outputs.Select(kv => kv.Key).Order());
            Assert.All(outputs, kv => Assert.True((bool)kv.Value!["noop"]!));
        });
    }

    private static async Task<int> CountAsync(Pipeline pipeline, long actionId)
    {
        try
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            return await db.Set<ActionRun>().CountAsync(r => r.ActionId == actionId && r.Status == ActionRunStatus.Succeeded);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
        {
            return 0;
        }
    }

    private static async Task<int> OpenAsync(Pipeline pipeline)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<ActionRun>().CountAsync(r => !(r.Status == ActionRunStatus.Succeeded || r.Status == ActionRunStatus.Failed
            || r.Status == ActionRunStatus.Skipped || r.Status == ActionRunStatus.Canceled));
    }
}
