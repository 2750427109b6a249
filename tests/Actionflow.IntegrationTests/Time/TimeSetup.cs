using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.Time;

/// <summary>Workflows with time in them, made through the API as a user makes them, and what the time tests read back.</summary>
internal static class TimeSetup
{
    /// <summary>Creates a workflow with one step per (kind, trigger_data, config_data), in order, and activates it.</summary>
    public static async Task<(long WorkflowId, long[] ActionIds)> WorkflowAsync(
        TestProject project, string name, bool activate, params (string Kind, JsonObject Trigger, JsonObject? Config)[] steps)
    {
        var created = await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = name });
        ApiAssert.Ok(created);
        var workflowId = (long)created.Json["workflow"]!["id"]!;
        var ids = new List<long>();
        foreach (var (kind, trigger, config) in steps)
        {
            var step = await project.Editor.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
            {
                ["kind"] = kind,
                ["trigger_data"] = trigger.DeepClone(),
                ["config_data"] = config?.DeepClone() ?? new JsonObject(),
            });
            ApiAssert.Ok(step);
            ids.Add((long)step.Json["action"]!["id"]!);
        }

        if (activate)
        {
            await SetActiveAsync(project, workflowId, true);
        }

        return (workflowId, [.. ids]);
    }

    public static async Task<JsonObject> SetActiveAsync(TestProject project, long workflowId, bool active)
    {
        var updated = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = active, ["mode"] = "UPDATE" });
        Assert.True(updated.Status == HttpStatusCode.OK, updated.ToString());
        return updated.Json["workflow"]!.AsObject();
    }

    public static JsonObject Cron(string expression, string? catchUp = null, int? catchUpMax = null)
    {
        var trigger = new JsonObject { ["event_name"] = "time_trigger", ["cron_expression"] = expression };
        if (catchUp is not null)
        {
            trigger["catch_up"] = catchUp;
        }

        if (catchUpMax is not null)
        {
            trigger["catch_up_max"] = catchUpMax;
        }

        return trigger;
    }

    /// <summary>The time_trigger events of a step, oldest tick first.</summary>
    public static async Task<List<Fire>> FiresAsync(Pipeline pipeline, long actionId)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        var events = await db.Set<Event>().AsNoTracking().Where(e => e.Kind == "time_trigger" && e.ActionId == actionId).ToListAsync();
        return [.. events.Select(e => new Fire(
                e.Id,
                Instant(e.ExtraMetadata["scheduled_at"]),
                Instant(e.ExtraMetadata["fired_at"]),
                e.ExtraMetadata["ticks"] is { } ticks ? (int)ticks : 1))
            .OrderBy(f => f.ScheduledAt)];
    }

    public static async Task<List<ActionRun>> RunsOfAsync(Pipeline pipeline, long actionId)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<ActionRun>().AsNoTracking().Where(r => r.ActionId == actionId).OrderBy(r => r.Id).ToListAsync();
    }

    private static DateTime Instant(JsonNode? node) =>
        DateTime.Parse((string)node!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <summary>Nearest-rank percentile of <paramref name="values"/> (0 for none).</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

internal sealed record Fire(long EventId, DateTime ScheduledAt, DateTime FiredAt, int Ticks)
{
    public double LagMs => (FiredAt - ScheduledAt).TotalMilliseconds;
}

/// <summary>The time suite's figures: printed to the test output and appended to artifacts/time.txt, which test.sh prints.</summary>
internal static class TimeReport
{
    public static void Write(Xunit.Abstractions.ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        var path = Path.Combine(TestEnvironment.RepositoryRoot, "artifacts", "time.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.AppendAllLines(path, [line]);
    }
}
