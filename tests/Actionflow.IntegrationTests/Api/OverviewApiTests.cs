using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// The routes a person's overview needs (and the console uses): whoami, projects, workflow summaries, run search with
/// paging, run counts over time, one event, and the server-sent events of run changes.
/// </summary>
public sealed partial class OverviewApiTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task WhoAmI_EachCredential_SaysWhatItIs()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var admin = ApiClient.Admin(fixture.Host);

        var asAdmin = (await admin.GetAsync("api/v1/whoami")).Json;
        var asViewer = (await project.Viewer.GetAsync("api/v1/whoami")).Json;
        var anonymous = await ApiClient.Anonymous(fixture.Host).GetAsync("api/v1/whoami");

        Assert.True((bool)asAdmin["installation_admin"]!);
        Assert.False((bool)asAdmin["setup_token"]!);
        Assert.False((bool)asViewer["installation_admin"]!);
        Assert.Equal("viewer", (string?)asViewer["role"]);
        Assert.Equal(project.StringId, (string?)asViewer["project"]!["string_id"]);
        Assert.Equal(project.Keys["viewer"].ClientId, (string?)asViewer["client_id"]);
        ApiAssert.Problem(anonymous, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ListProjects_AdminTokenOnly()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var admin = ApiClient.Admin(fixture.Host);

        var list = (await admin.GetAsync("api/v1/projects")).Json["project_list"]!.AsArray();
        var refused = await project.Admin.GetAsync("api/v1/projects");

        Assert.Contains(list, p => (string?)p!["string_id"] == project.StringId);
        ApiAssert.Problem(refused, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task WorkflowSummaries_ByState_WithLastRunAndRunsInTheLastDay()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var active = await WorkflowAsync(project, "Active one", activate: true);
        var idle = await WorkflowAsync(project, "Idle one", activate: false);
        var archived = await WorkflowAsync(project, "Gone", activate: false);
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = archived, ["mode"] = "ARCHIVE" }));
        await EmitAndWaitAsync(project, active, 2);

        var all = (await project.Viewer.GetAsync(project.P("workflows"))).Json["workflow_list"]!.AsArray();
        var first = all.Single(w => (long)w!["id"]! == active)!;
        Assert.Equal(3, all.Count);
        Assert.Equal("succeeded", (string?)first["last_run_status"]);
        Assert.Equal(2, (int)first["runs_last_24h"]!);
        Assert.Equal(1, (int)first["step_count"]!);
        Assert.Null(all.Single(w => (long)w!["id"]! == idle)!["last_run_status"]);
        Assert.Equal([active], Ids(await project.Viewer.GetAsync(project.P("workflows?state=active")), "workflow_list"));
        Assert.Equal([idle], Ids(await project.Viewer.GetAsync(project.P("workflows?state=inactive")), "workflow_list"));
        Assert.Equal([archived], Ids(await project.Viewer.GetAsync(project.P("workflows?state=archived")), "workflow_list"));
        ApiAssert.Problem(await project.Viewer.GetAsync(project.P("workflows?state=sleeping")), HttpStatusCode.BadRequest, "state");
    }

    [Fact]
    public async Task SearchRuns_FiltersAndPages_CountsOverTime()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = await WorkflowAsync(project, "Searched", activate: true);
        var other = await WorkflowAsync(project, "Other", activate: true, trigger: "task_created");
        var events = await EmitAndWaitAsync(project, workflow, 5);
        await EmitAndWaitAsync(project, other, 1, firstFileId: 900, kind: "task_created");
        var viewer = project.Viewer;

        var page0 = (await viewer.GetAsync(project.P($"workflow-runs?workflow_id={workflow}&page_size=2"))).Json;
        var page2 = (await viewer.GetAsync(project.P($"workflow-runs?workflow_id={workflow}&page_size=2&page=2"))).Json;
        var byFile = (await viewer.GetAsync(project.P("workflow-runs?file_id=103"))).Json;
        var byEvent = (await viewer.GetAsync(project.P($"workflow-runs?event_id={events[0]}"))).Json;
        var failed = (await viewer.GetAsync(project.P("workflow-runs?status=failed"))).Json;
        var future = (await viewer.GetAsync(project.P($"workflow-runs?from={Uri.EscapeDataString(DateTime.UtcNow.AddHours(1).ToString("O"))}"))).Json;
        var counts = (await viewer.GetAsync(project.P($"workflow-runs/counts?workflow_id={workflow}"))).Json;

        Assert.Equal(5, (int)page0["total_count"]!);
        Assert.Equal(2, page0["workflow_run_list"]!.AsArray().Count);
        Assert.Single(page2["workflow_run_list"]!.AsArray());
        Assert.True((long)page0["workflow_run_list"]![0]!["id"]! > (long)page0["workflow_run_list"]![1]!["id"]!, "newest first");
        Assert.Equal(1, (int)byFile["total_count"]!);
        Assert.Equal(events[3], (long)byFile["workflow_run_list"]![0]!["root_event_id"]!);
        Assert.Equal(1, (int)byEvent["total_count"]!);
        Assert.Equal(0, (int)failed["total_count"]!);
        Assert.Equal(0, (int)future["total_count"]!);
        Assert.Equal("hour", (string?)counts["bucket"]);
        Assert.Equal(5, counts["buckets"]!.AsArray().Sum(b => (int?)b!["counts"]!["succeeded"] ?? 0));
        ApiAssert.Problem(await viewer.GetAsync(project.P("workflow-runs?status=late")), HttpStatusCode.BadRequest, "status");
        ApiAssert.Problem(await viewer.GetAsync(project.P("workflow-runs?page_size=5000")), HttpStatusCode.BadRequest, "page_size");
        ApiAssert.Problem(await viewer.GetAsync(project.P("workflow-runs/counts?bucket=minute")), HttpStatusCode.BadRequest, "bucket");
        ApiAssert.Problem(await viewer.GetAsync(project.P($"workflow-runs/counts?from={Uri.EscapeDataString(DateTime.UtcNow.AddYears(-1).ToString("O"))}")),
            HttpStatusCode.BadRequest, "from");

        // Another project sees none of them.
        using var stranger = await TestProject.CreateAsync(fixture.Host);
        Assert.Equal(0, (int)(await stranger.Viewer.GetAsync(stranger.P("workflow-runs"))).Json["total_count"]!);
        ApiAssert.Problem(await stranger.Viewer.GetAsync(stranger.P($"events/{events[0]}")), HttpStatusCode.NotFound);
        Assert.Equal(103, (long)(await viewer.GetAsync(project.P($"events/{events[3]}"))).Json["event"]!["file_id"]!);
    }

    [Fact]
    public async Task StreamRuns_RunChanges_SentAsServerSentEvents()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = await WorkflowAsync(project, "Streamed", activate: true);
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var key = project.Keys["viewer"];
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{key.ClientId}:{key.Secret}")));
        using var cts = new CancellationTokenSource(Patience);

        using var response = await http.GetAsync(project.P($"workflow-runs/stream?workflow_id={workflow}"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        Assert.Equal("event: ready", await reader.ReadLineAsync(cts.Token));

        var events = await EmitAndWaitAsync(project, workflow, 1);
        string? line;
        JsonNode? succeeded = null;
        while (succeeded is null && (line = await reader.ReadLineAsync(cts.Token)) is not null)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject run && (string?)run["status"] == "succeeded")
            {
                succeeded = run;
            }
        }

        Assert.NotNull(succeeded);
        Assert.Equal(events[0], (long)succeeded["root_event_id"]!);
        Assert.Equal(workflow, (long)succeeded["workflow_id"]!);

        // Scoped like every project route: another project's key gets 404, no key 401.
        using var stranger = await TestProject.CreateAsync(fixture.Host);
        ApiAssert.Problem(await stranger.Viewer.GetAsync(project.P("workflow-runs/stream")), HttpStatusCode.NotFound);
        ApiAssert.Problem(await ApiClient.Anonymous(fixture.Host).GetAsync(project.P("workflow-runs/stream")), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task StreamOneRun_EveryStepChange_Sent()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = await WorkflowAsync(project, "Two steps", activate: false);
        ApiAssert.Ok(await project.Editor.PostAsync(project.P($"actions/workflow/{workflow}/action"),
            new JsonObject { ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" } }));
        ApiAssert.Ok(await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow, ["active"] = true }));
        var events = await EmitAndWaitAsync(project, workflow, 1);
        var run = (await project.Viewer.GetAsync(project.P($"workflow-runs?event_id={events[0]}"))).Json["workflow_run_list"]![0]!;
        await ApiAssert.EventuallyAsync(
            async () => (await project.Viewer.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"))).Json["workflow_run"]!.AsObject(),
            r => r["action_runs"]!.AsArray().Count == 2 && r["action_runs"]!.AsArray().All(a => (string?)a!["status"] == "succeeded"), Patience, "both steps to succeed");
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", project.Keys["viewer"].Secret);
        using var cts = new CancellationTokenSource(Patience);

        using var response = await http.GetAsync(project.P($"workflow-runs/stream?workflow_run_id={(long)run["id"]!}"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var lines = new List<string>();
        while (!lines.Any(l => l.StartsWith("data: {", StringComparison.Ordinal)) && await reader.ReadLineAsync(cts.Token) is { } line)
        {
            lines.Add(line);
        }

        // The run as it is now, with both steps and their attempts, right after 'ready'.
        Assert.Equal("event: ready", lines[0]);
        var sent = JsonNode.Parse(lines.Last(l => l.StartsWith("data: {", StringComparison.Ordinal))[6..])!;
        Assert.Equal(2, sent["action_runs"]!.AsArray().Count);
        Assert.All(sent["action_runs"]!.AsArray(), s => Assert.NotEmpty(s!["attempts"]!.AsArray()));
    }

    [Fact]
    public async Task SetupToken_NoAdminTokenConfigured_LoggedWithConsoleAddressAndWorksAsAdmin()
    {
        var folder = Directory.CreateTempSubdirectory("actionflow-setup-").FullName;
        try
        {
            await using var host = await ActionflowProcess.StartAsync(
                new Dictionary<string, string> { ["Actionflow__Database"] = "", ["Actionflow__Broker"] = "" },
                workingDirectory: folder);
            var match = SetupLine().Match(host.Output);
            Assert.True(match.Success, "no setup token line in:\n" + host.Output);
            Assert.Equal(host.BaseAddress.ToString(), match.Groups["url"].Value);

            using var setup = ApiClient.Bearer(host, match.Groups["token"].Value);
            var me = (await setup.GetAsync("api/v1/whoami")).Json;
            Assert.True((bool)me["installation_admin"]!);
            Assert.True((bool)me["setup_token"]!);
            ApiAssert.Ok(await setup.PostAsync("api/v1/projects", new JsonObject { ["string_id"] = "first" }), HttpStatusCode.Created);
            ApiAssert.Problem(await ApiClient.Bearer(host, "afsetup_" + new string('x', 32)).GetAsync("api/v1/whoami"), HttpStatusCode.Unauthorized);
            // The console is served at / by the same process.
            using var page = await new HttpClient().GetAsync(host.BaseAddress);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("_framework/blazor.web", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task SetupToken_AdminTokenConfigured_NoneLogged()
    {
        var output = fixture.Host.Output;

        Assert.DoesNotContain("afsetup_", output, StringComparison.Ordinal);
        Assert.Contains($"Actionflow console: {fixture.Host.BaseAddress}", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("get", "/api/v1/whoami")]
    [InlineData("get", "/api/v1/projects")]
    [InlineData("get", "/api/v1/project/{project_string_id}/workflows")]
    [InlineData("get", "/api/v1/project/{project_string_id}/workflow-runs")]
    [InlineData("get", "/api/v1/project/{project_string_id}/workflow-runs/counts")]
    [InlineData("get", "/api/v1/project/{project_string_id}/workflow-runs/stream")]
    [InlineData("get", "/api/v1/project/{project_string_id}/events/{event_id}")]
    public async Task OpenApiDocument_OverviewRoute_DocumentedAndSecured(string method, string path)
    {
        using var anonymous = ApiClient.Anonymous(fixture.Host);
        var document = (await anonymous.GetAsync("openapi/v1.json")).Json;

        var operation = document["paths"]?[path]?[method];
        Assert.True(operation is not null, $"{method} {path} is not in the document");
        Assert.NotNull(operation["summary"]);
        Assert.NotNull(operation["responses"]!["200"]);
        Assert.NotEmpty(operation["security"]!.AsArray());
    }

    private static List<long> Ids(ApiResponse response, string list) => response.Json[list]!.AsArray().Select(w => (long)w!["id"]!).ToList();

    private static async Task<long> WorkflowAsync(TestProject project, string name, bool activate, string trigger = "task_completed")
    {
        var api = project.Editor;
        var id = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = name })).Json["workflow"]!["id"]!;
        ApiAssert.Ok(await api.PostAsync(project.P($"actions/workflow/{id}/action"),
            new JsonObject { ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = trigger } }));
        if (activate)
        {
            ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = id, ["active"] = true }));
        }

        return id;
    }

    /// <summary>Emits <paramref name="count"/> events of <paramref name="kind"/> (file ids from <paramref name="firstFileId"/>) and waits until the workflow's runs all succeeded.</summary>
    private static async Task<List<long>> EmitAndWaitAsync(TestProject project, long workflow, int count, int firstFileId = 100, string kind = "task_completed")
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var accepted = await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = kind, ["file_id"] = firstFileId + i, ["task_id"] = i + 1 });
            ApiAssert.Ok(accepted, HttpStatusCode.Accepted);
            ids.Add((long)accepted.Json["event"]!["id"]!);
        }

        await ApiAssert.EventuallyAsync(
            async () => (await project.Viewer.GetAsync(project.P($"workflow-runs?workflow_id={workflow}&status=succeeded"))).Json,
            r => (int)r["total_count"]! >= count, Patience, $"{count} runs of workflow {workflow} to succeed");
        return ids;
    }

    [GeneratedRegex(@"Actionflow console: (?<url>http\S+) - .*setup token: (?<token>afsetup_[A-Za-z0-9_-]+)")]
    private static partial Regex SetupLine();
}
