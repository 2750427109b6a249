using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Api;

namespace Actionflow.IntegrationTests.Time;

/// <summary>Time through the HTTP API, as a builder uses it: validation with field errors, next fire times, the schedule in the workflow's answer.</summary>
public sealed class TimeApiTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    [Theory]
    [InlineData("""{"event_name": "time_trigger", "cron_expression": "61 * * * *"}""", "trigger_data.cron_expression")]
    [InlineData("""{"event_name": "time_trigger", "cron_expression": "* * * *"}""", "trigger_data.cron_expression")]
    [InlineData("""{"event_name": "time_trigger", "cron_expression": "0 9 * * *", "time_zone": "Mars/Olympus"}""", "trigger_data.time_zone")]
    [InlineData("""{"event_name": "time_trigger", "cron_expression": "0 9 * * *", "catch_up": "sometimes"}""", "trigger_data.catch_up")]
    [InlineData("""{"event_name": "time_trigger", "cron_expression": "0 9 * * *", "window": {"mode": "batch", "key": "file_id", "max_events": 2}}""", "trigger_data.window")]
    [InlineData("""{"event_name": "input_file_uploaded", "window": {"mode": "batch", "key": "directory_id", "max_events": 0}}""", "trigger_data.window.max_events")]
    [InlineData("""{"event_name": "input_file_uploaded", "window": {"mode": "debounce", "key": "directory_id"}}""", "trigger_data.window.quiet")]
    [InlineData("""{"event_name": "input_file_uploaded", "window": {"mode": "throttle", "key": "a..b", "period": "1h"}}""", "trigger_data.window.key")]
    public async Task SaveStep_InvalidTimeSettings_Answers400NamingTheField(string trigger, string field)
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = (long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "bad time" })).Json["workflow"]!["id"]!;

        var created = await project.Editor.PostAsync(project.P($"actions/workflow/{workflow}/action"), new JsonObject { ["kind"] = "noop", ["trigger_data"] = JsonNode.Parse(trigger) });

        ApiAssert.Problem(created, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Builder_TimeTriggerStepSavedBeforeItsExpression_ActivationAsksForItThenTheScheduleIsShownChangedAndRemoved()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = (long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "hourly webhook" })).Json["workflow"]!["id"]!;
        var step = await project.Editor.PostAsync(project.P($"actions/workflow/{workflow}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["trigger_data"] = new JsonObject { ["event_name"] = "time_trigger" },
            ["config_data"] = new JsonObject { ["url"] = "http://127.0.0.1:9/hook" },
        });
        ApiAssert.Ok(step);
        var stepId = (long)step.Json["action"]!["id"]!;

        var refused = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["active"] = true });
        ApiAssert.Problem(refused, HttpStatusCode.BadRequest, $"actions.{stepId}.trigger_data.cron_expression");

        ApiAssert.Ok(await project.Editor.PutAsync(project.P($"actions/{stepId}"), new JsonObject
        {
            ["trigger_data"] = new JsonObject { ["event_name"] = "time_trigger", ["cron_expression"] = "0 9 * * 1-5", ["time_zone"] = "America/New_York", ["catch_up"] = "skip" },
        }));
        var preview = await project.Viewer.GetAsync(project.P($"workflow/{workflow}/schedule?count=5"));
        ApiAssert.Ok(preview);
        Assert.False((bool)preview.Json["active"]!);
        var times = preview.Json["next_fire_times"]!.AsArray().Select(t => DateTime.Parse((string)t!, null, System.Globalization.DateTimeStyles.RoundtripKind)).ToList();
        Assert.Equal(5, times.Count);
        Assert.Equal(times.Order(), times);
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        Assert.All(times, t =>
        {
            var local = TimeZoneInfo.ConvertTimeFromUtc(t, zone);
            Assert.Equal((9, 0), (local.Hour, local.Minute));
            Assert.InRange((int)local.DayOfWeek, 1, 5);
        });
        Assert.All(preview.Json["steps"]![0]!["next_fire_times_local"]!.AsArray(), t => Assert.Contains("T09:00:00-0", (string)t!, StringComparison.Ordinal));

        var activated = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["active"] = true });
        ApiAssert.Ok(activated);
        var shown = activated.Json["workflow"]!;
        Assert.Equal(times[0], DateTime.Parse((string)shown["next_fire_at"]!, null, System.Globalization.DateTimeStyles.RoundtripKind));
        Assert.Equal("skip", (string?)shown["catch_up"]);
        Assert.Null(shown["last_fire"]);
        var schedule = shown["schedules"]!.AsArray().Single()!;
        Assert.Equal((stepId, "0 9 * * 1-5", "America/New_York"), ((long)schedule["action_id"]!, (string?)schedule["cron_expression"], (string?)schedule["time_zone"]));
        Assert.True((bool)(await project.Viewer.GetAsync(project.P($"workflow/{workflow}/schedule"))).Json["steps"]![0]!["scheduled"]!);

        ApiAssert.Ok(await project.Editor.PutAsync(project.P($"actions/{stepId}"), new JsonObject
        {
            ["trigger_data"] = new JsonObject { ["event_name"] = "time_trigger", ["cron_expression"] = "30 6 1 * *", ["time_zone"] = "UTC" },
        }));
        var changed = (await project.Viewer.GetAsync(project.P($"workflow/{workflow}"))).Json["workflow"]!;
        var next = DateTime.Parse((string)changed["next_fire_at"]!, null, System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.Equal((1, 6, 30, "once"), (next.Day, next.Hour, next.Minute, (string?)changed["catch_up"]));
        var listed = (await project.Viewer.PostAsync(project.P("action/flow/list"), new JsonObject())).Json["flow_list"]!.AsArray().Single(w => (long)w!["id"]! == workflow)!;
        Assert.Equal((string?)changed["next_fire_at"], (string?)listed["next_fire_at"]);

        var invalidLater = await project.Editor.PutAsync(project.P($"actions/{stepId}"), new JsonObject
        {
            ["trigger_data"] = new JsonObject { ["event_name"] = "time_trigger" },
        });
        ApiAssert.Problem(invalidLater, HttpStatusCode.BadRequest, "trigger_data.cron_expression");

        var deactivated = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["active"] = false });
        Assert.Null(deactivated.Json["workflow"]!["next_fire_at"]);
        Assert.Empty(deactivated.Json["workflow"]!["schedules"]!.AsArray());
        ApiAssert.Ok(await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["active"] = true }));
        var archived = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["mode"] = "ARCHIVE" });
        Assert.Empty(archived.Json["workflow"]!["schedules"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"trigger_data": {"cron_expression": "*/15 * * * *"}, "count": 3}""", HttpStatusCode.OK, null)]
    [InlineData("""{"trigger_data": {"cron_expression": "*/15 * * * *", "time_zone": "Asia/Kathmandu"}}""", HttpStatusCode.OK, null)]
    [InlineData("""{"trigger_data": {}}""", HttpStatusCode.BadRequest, "trigger_data.cron_expression")]
    [InlineData("""{"trigger_data": {"cron_expression": "0 0 30 2 *"}}""", HttpStatusCode.OK, null)]
    [InlineData("""{"trigger_data": {"cron_expression": "* * * * *", "time_zone": "Nowhere/Land"}}""", HttpStatusCode.BadRequest, "trigger_data.time_zone")]
    [InlineData("""{"trigger_data": {"cron_expression": "* * * * *"}, "count": 101}""", HttpStatusCode.BadRequest, "count")]
    public async Task PreviewSchedule_TriggerNotSavedYet_ListsItsNextFireTimesOrNamesTheField(string body, HttpStatusCode status, string? field)
    {
        using var project = await TestProject.CreateAsync(fixture.Host);

        var preview = await project.Viewer.PostAsync(project.P("actions/schedule/preview"), JsonNode.Parse(body));

        if (status != HttpStatusCode.OK)
        {
            ApiAssert.Problem(preview, status, field);
            return;
        }

        ApiAssert.Ok(preview);
        var request = JsonNode.Parse(body)!;
        var times = preview.Json["next_fire_times"]!.AsArray();
        // 30 February never comes: a schedule with no tick lists none.
        Assert.Equal(((string)request["trigger_data"]!["cron_expression"]!).StartsWith("0 0 30 2", StringComparison.Ordinal) ? 0 : (int?)request["count"] ?? 5, times.Count);
        Assert.Equal(times.Count, preview.Json["next_fire_times_local"]!.AsArray().Count);
        if ((string?)request["trigger_data"]!["time_zone"] == "Asia/Kathmandu")
        {
            Assert.All(preview.Json["next_fire_times_local"]!.AsArray(), t => Assert.EndsWith("+05:45", (string)t!, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Templates_EveryOneThatCanStartAWorkflow_ListsTimeTriggerAndTheDelayIsOffered()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);

        var templates = (await project.Viewer.GetAsync(project.P("action-template/list"))).Json["action_template_list"]!.AsArray();

        foreach (var kind in (string[])["noop", "Webhook", "delay"])
        {
            var template = templates.Single(t => (string?)t!["kind"] == kind)!;
            Assert.Contains("time_trigger", template["trigger_data"]!["event_list"]!.AsArray().Select(e => (string?)e!["value"]));
        }

        var delay = templates.Single(t => (string?)t!["kind"] == "delay")!;
        Assert.Equal(["duration", "until"], delay["config_schema"]!["properties"]!.AsObject().Select(p => p.Key).Order());
        var badDuration = await project.Editor.PostAsync(project.P($"actions/workflow/{(long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "d" })).Json["workflow"]!["id"]!}/action"),
            new JsonObject { ["kind"] = "delay", ["config_data"] = new JsonObject { ["duration"] = "soon" } });
        ApiAssert.Problem(badDuration, HttpStatusCode.BadRequest, "config_data.duration");
    }
}
