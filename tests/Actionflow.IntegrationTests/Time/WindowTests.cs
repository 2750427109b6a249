using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests.Time;

/// <summary>Per-key windows on a step's trigger, end to end, durable through kills.</summary>
public sealed class WindowTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task BatchOfHundred_ThousandEventsOfFiveKeys_ExactlyTenRunsOfHundredNoneLostAcrossAKillNine(PipelineMode mode)
    {
        const int Events = 1000;
        await using var pipeline = await Pipeline.CreateAsync(mode);
        // The first worker migrates the new database; the second starts on it after.
        List<ActionflowProcess> workers = [await pipeline.StartWorkerAsync()];
        if (mode != PipelineMode.Embedded)
        {
            workers.Add(await pipeline.StartWorkerAsync());
        }

        using var project = await TestProject.CreateAsync(workers[0]);
        var trigger = new JsonObject
        {
            ["event_name"] = "input_file_uploaded",
            ["window"] = new JsonObject { ["mode"] = "batch", ["key"] = "directory_id", ["max_events"] = 100 },
        };
        var (_, steps) = await TimeSetup.WorkflowAsync(project, "batches of 100", true, ("noop", trigger, null));
        await pipeline.WaitForDefinitionsAsync();

        var bodies = Enumerable.Range(1, Events)
            .Select(i => Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, directoryId: 1 + i % 5, fileId: i).ToJsonString()))
            .ToList();
        var publishing = pipeline.PublishManyAsync(bodies);
        Assert.True(await Pipeline.EventuallyAsync(async () => await UploadsAsync(pipeline) >= Events / 2, TimeSpan.FromSeconds(60)), "half the events did not arrive");
        workers[^1].Kill();
        if (mode == PipelineMode.Embedded)
        {
            await pipeline.StartWorkerAsync();
        }

        await publishing;
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            var runs = await TimeSetup.RunsOfAsync(pipeline, steps[0]);
            return runs.Count(r => r.Status == ActionRunStatus.Succeeded) >= 10;
        }, TimeSpan.FromSeconds(120)), "fewer than 10 batches ran");
        await pipeline.WaitUntilSettledAsync(TimeSpan.FromSeconds(60));

        var runs = await TimeSetup.RunsOfAsync(pipeline, steps[0]);
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var windowEvents = await db.Set<Event>().AsNoTracking().Where(e => e.Source == EventSources.Window).ToListAsync();
        var uploads = await db.Set<Event>().AsNoTracking().Where(e => e.Kind == "input_file_uploaded" && e.Source != EventSources.Window).Select(e => new { e.Id, e.DirectoryId }).ToListAsync();
        var members = windowEvents.Select(e => (Key: e.ExtraMetadata["window"]!["value"]!.GetValue<long>(), Ids: e.ExtraMetadata["window"]!["event_ids"]!.AsArray().Select(id => (long)id!).ToList())).ToList();
        var left = await db.Set<WindowEntry>().CountAsync();
        TimeReport.Write(output, string.Create(CultureInfo.InvariantCulture,
            $"TIME-WINDOW-BATCH mode={mode} events={uploads.Count} runs={runs.Count} sizes={string.Join(',', members.Select(m => m.Ids.Count).Order())} left_in_windows={left}"));

        Assert.Equal(Events, uploads.Count);
        Assert.Equal(10, runs.Count);
        Assert.All(runs, r => Assert.Equal(ActionRunStatus.Succeeded, r.Status));
        Assert.All(members, m => Assert.Equal(100, m.Ids.Count));
        Assert.Equal(uploads.Select(u => u.Id).Order(), members.SelectMany(m => m.Ids).Order());
        var keyOf = uploads.ToDictionary(u => u.Id, u => u.DirectoryId);
        Assert.All(members, m => Assert.All(m.Ids, id => Assert.Equal(m.Key, keyOf[id])));
        Assert.Equal(0, await db.Set<WindowEntry>().CountAsync());
        Assert.Equal(0, await db.Set<StepWindow>().CountAsync());
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task DebounceAndThrottle_PerKey_RunOnceWithTheLastEventOrTheFirstAndRecordTheOthersSkipped(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(worker);
        var debounced = (await TimeSetup.WorkflowAsync(project, "debounced", true, ("noop", new JsonObject
        {
            ["event_name"] = "input_file_uploaded",
            ["window"] = new JsonObject { ["mode"] = "debounce", ["key"] = "directory_id", ["quiet"] = "3s", ["max_wait"] = "1m" },
        }, null))).ActionIds[0];
        var throttled = (await TimeSetup.WorkflowAsync(project, "throttled", true, ("noop", new JsonObject
        {
            ["event_name"] = "input_file_uploaded",
            ["window"] = new JsonObject { ["mode"] = "throttle", ["key"] = "directory_id", ["period"] = "1h" },
        }, null))).ActionIds[0];
        await pipeline.WaitForDefinitionsAsync();

        var last = new Dictionary<long, long>();
        var first = new Dictionary<long, long>();
        for (var i = 0; i < 10; i++)
        {
            var directory = 1 + i % 2;
            var sent = await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 100 + i, ["directory_id"] = directory });
            ApiAssert.Ok(sent, System.Net.HttpStatusCode.Accepted);
            var id = (long)sent.Json["event"]!["id"]!;
            last[directory] = id;
            first.TryAdd(directory, id);
        }

        Assert.True(await Pipeline.EventuallyAsync(async () =>
            (await TimeSetup.RunsOfAsync(pipeline, debounced)).Count(r => r.Status == ActionRunStatus.Succeeded) == 2
            && (await TimeSetup.RunsOfAsync(pipeline, throttled)).Count(r => r.Status == ActionRunStatus.Succeeded) == 2, TimeSpan.FromSeconds(60)),
            "each key should run once per window");
        await pipeline.WaitUntilSettledAsync(TimeSpan.FromSeconds(30));

        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var windowEvents = await db.Set<Event>().AsNoTracking().Where(e => e.Source == EventSources.Window).ToListAsync();
        var ranFor = windowEvents.Select(e => (Mode: (string)e.ExtraMetadata["window"]!["mode"]!, Member: (long)e.ExtraMetadata["window"]!["event_ids"]![0]!)).ToList();
        Assert.Equal(last.Values.Order(), ranFor.Where(r => r.Mode == "debounce").Select(r => r.Member).Order());
        Assert.Equal(first.Values.Order(), ranFor.Where(r => r.Mode == "throttle").Select(r => r.Member).Order());
        var debounceSkips = (await TimeSetup.RunsOfAsync(pipeline, debounced)).Where(r => r.Status == ActionRunStatus.Skipped).ToList();
        var throttleSkips = (await TimeSetup.RunsOfAsync(pipeline, throttled)).Where(r => r.Status == ActionRunStatus.Skipped).ToList();
        Assert.Equal(8, debounceSkips.Count);
        Assert.All(debounceSkips, r => Assert.StartsWith("debounced: superseded by event", r.ErrorReason, StringComparison.Ordinal));
        Assert.Equal(8, throttleSkips.Count);
        Assert.All(throttleSkips, r => Assert.StartsWith("throttled: key ", r.ErrorReason, StringComparison.Ordinal));
        Assert.Empty(first.Values.Intersect(throttleSkips.Select(r => r.EventId)));
    }

    private static async Task<int> UploadsAsync(Pipeline pipeline)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<Event>().CountAsync(e => e.Kind == "input_file_uploaded" && e.Source != EventSources.Window);
    }
}
