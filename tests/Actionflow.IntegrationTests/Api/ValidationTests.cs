using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Bad requests: each answered 4xx with a problem detail naming the field, never 500.</summary>
public sealed class ValidationTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private sealed record Setup(TestProject Project, long WorkflowId, long WebhookId);

    /// <summary>Method, route ({w}: a workflow, {a}: its Webhook step, /...: installation level), raw body, status, field named.</summary>
    public static TheoryData<string, string, string?, int, string?> BadRequests => new()
    {
        { "POST", "actions/workflow/new", "{}", 400, "name" },
        { "POST", "actions/workflow/new", """{"name": 5}""", 400, "name" },
        { "POST", "actions/workflow/new", """{"name": "x", "time_window": "2_weeks"}""", 400, "time_window" },
        { "POST", "actions/workflow/new", "{bad json", 400, "body" },
        { "POST", "actions/workflow/new", "[1, 2]", 400, "body" },
        { "POST", "actions/workflow/new", null, 400, "body" },
        { "POST", "actions/workflow/{w}/action", "{}", 400, "kind" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "no_such_kind"}""", 400, "kind" },
        { "POST", "actions/workflow/{w}/action", """{"template_id": 999999}""", 400, "template_id" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "template_id": "{webhook_template}"}""", 400, "kind" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "trigger_data": {"event_name": "manual_trigger"}}""", 400, "trigger_data.event_name" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "trigger_data": {"event_name": 7}}""", 400, "trigger_data.event_name" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "trigger_data": "input_file_uploaded"}""", 400, "trigger_data" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": {"timeout_seconds": 0}}""", 400, "config_data.timeout_seconds" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": {"timeout_seconds": "soon"}}""", 400, "config_data.timeout_seconds" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": {"headers": "x"}}""", 400, "config_data.headers" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": [1]}""", 400, "config_data" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "ordinal": "first"}""", 400, "ordinal" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "ordinal": -1}""", 400, "ordinal" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "workflow_id": 999999}""", 400, "workflow_id" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "retry_policy": {"max_attempts": 0}}""", 400, "retry_policy" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "retry_policy": {"attempts": 3}}""", 400, "retry_policy" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "retry_policy": {"factor": "fast"}}""", 400, "retry_policy" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "trigger_data": {"event_name": "input_file_uploaded", "filter": "event.extra_metadata.score >"}}""", 400, "trigger_data.filter" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "trigger_data": {"event_name": "input_file_uploaded", "filter": "event.file_id + 1"}}""", 400, "trigger_data.filter" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "trigger_data": {"event_name": "input_file_uploaded", "filter": "tasks.size() > 0"}}""", 400, "trigger_data.filter" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "noop", "trigger_data": {"event_name": "input_file_uploaded", "filter": true}}""", 400, "trigger_data.filter" },
        { "PUT", "actions/{a}", """{"trigger_data": {"event_name": "input_file_uploaded", "filter": "event.directory_id in [12, 14"}}""", 400, "trigger_data.filter" },
        { "POST", "actions/workflow/999999/action", """{"kind": "noop"}""", 404, null },
        { "PUT", "actions/{a}", """{"kind": "noop"}""", 400, "kind" },
        { "PUT", "actions/{a}", """{"workflow_id": 999999}""", 400, "workflow_id" },
        { "PUT", "actions/{a}", """{"archived": "yes"}""", 400, "archived" },
        { "PUT", "actions/{a}", """{"config_data": {"url": 12}}""", 400, "config_data.url" },
        { "PUT", "actions/{a}", """{"template_id": 999999}""", 400, "template_id" },
        { "PUT", "actions/{a}", """{"config_data": {"url": "file:///etc/passwd"}}""", 400, "config_data.url" },
        { "PUT", "actions/{a}", """{"config_data": {"url": "gopher://example.com/_x"}}""", 400, "config_data.url" },
        { "PUT", "actions/{a}", """{"config_data": {"url": "http://user:pw@example.com/hook"}}""", 400, "config_data.url" },
        { "PUT", "actions/{a}", """{"config_data": {"url": "not a url"}}""", 400, "config_data.url" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"X-A": "a\r\nInjected: 1"}}}""", 400, "config_data.headers.X-A" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"X-A": "a\u0000b"}}}""", 400, "config_data.headers.X-A" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"X-A": "caf\u00e9"}}}""", 400, "config_data.headers.X-A" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"X-A": "tab\there"}}}""", 400, "config_data.headers.X-A" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Bad Name": "x"}}}""", 400, "config_data.headers.Bad Name" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Host": "internal"}}}""", 400, "config_data.headers.Host" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"webhook-id": "x"}}}""", 400, "config_data.headers.webhook-id" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Content-Length": "1"}}}""", 400, "config_data.headers.Content-Length" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Content-Type": "text/plain"}}}""", 400, "config_data.headers.Content-Type" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Transfer-Encoding": "chunked"}}}""", 400, "config_data.headers.Transfer-Encoding" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Connection": "close"}}}""", 400, "config_data.headers.Connection" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Upgrade": "h2c"}}}""", 400, "config_data.headers.Upgrade" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"TE": "trailers"}}}""", 400, "config_data.headers.TE" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Expect": "100-continue"}}}""", 400, "config_data.headers.Expect" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Proxy-Authorization": "Basic eA=="}}}""", 400, "config_data.headers.Proxy-Authorization" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"Content-Encoding": "gzip"}}}""", 400, "config_data.headers.Content-Encoding" },
        { "PUT", "actions/{a}", """{"config_data": {"secret": "whsec_!!!"}}""", 400, "config_data.secret" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": {"url": "file:///etc/passwd"}}""", 400, "config_data.url" },
        { "POST", "actions/workflow/{w}/action", """{"kind": "Webhook", "config_data": {"headers": {"Host": "x"}}}""", 400, "config_data.headers.Host" },
        { "PUT", "actions/999999", "{}", 404, null },
        { "PUT", "actions/workflow/update", """{"name": "x"}""", 400, "workflow_id" },
        { "PUT", "actions/workflow/update", """{"workflow_id": "{w}", "mode": "DELETE"}""", 400, "mode" },
        { "PUT", "actions/workflow/update", """{"workflow_id": "{w}", "name": ""}""", 400, "name" },
        { "PUT", "actions/workflow/update", """{"workflow_id": "{w}", "active": "maybe"}""", 400, "active" },
        { "PUT", "actions/workflow/update", """{"workflow_id": 999999, "name": "x"}""", 404, null },
        { "GET", "workflow/999999", null, 404, null },
        { "GET", "action/previous/999999", null, 404, null },
        { "GET", "action-template/999999", null, 404, null },
        { "POST", "action/workflow-run/list", "{}", 400, "flow_id" },
        { "POST", "action/workflow-run/list", """{"flow_id": 999999}""", 404, null },
        { "GET", "action/{a}/runs/list?page_size=0", null, 400, "page_size" },
        { "GET", "action/{a}/runs/list?page_size=1001", null, 400, "page_size" },
        { "GET", "action/{a}/runs/list?page=-1", null, 400, "page" },
        { "GET", "action/{a}/runs/list?page_size=abc", null, 400, "page_size" },
        { "GET", "events?since=yesterday", null, 400, "since" },
        { "GET", "events?page=1.5", null, 400, "page" },
        { "GET", "workflow-runs?workflow_id=first", null, 400, "workflow_id" },
        { "GET", "workflow-runs?from=soon&page_size=5", null, 400, "from" },
        { "GET", "workflow-runs/counts?to=2026-13-45", null, 400, "to" },
        { "GET", "workflow/{w}/schedule?count=ten", null, 400, "count" },
        { "POST", "events", "{}", 400, "kind" },
        { "POST", "events", """{"kind": "x", "file_id": -3}""", 400, "file_id" },
        { "POST", "events", """{"kind": "x", "task_id": "seven"}""", 400, "task_id" },
        { "POST", "events", """{"kind": "x", "extra_metadata": "text"}""", 400, "extra_metadata" },
        { "POST", "events", """{"kind": "x", "idempotency_key": ""}""", 400, "idempotency_key" },
        { "POST", "events", """{"kind": "x", "extra_metadata": {"note": "half a pair \ud800"}}""", 400, "extra_metadata" },
        { "POST", "actions/workflow/new", """{"name": "\udfff"}""", 400, "name" },
        { "POST", "events", """{"kind": "x", "extra_metadata": {"score": 1, "Score": 2}}""", 400, "extra_metadata" },
        { "PUT", "actions/{a}", """{"config_data": {"headers": {"X-A": "\ud83d"}}}""", 400, "config_data" },
        { "GET", "workflow-runs/999999", null, 404, null },
        { "POST", "workflow-runs/999999/retry", null, 404, null },
        { "POST", "workflow-runs/999999/cancel", null, 404, null },
        { "POST", "api-keys", """{"role": "owner"}""", 400, "role" },
        { "POST", "api-keys", "{}", 400, "role" },
        { "POST", "/api/v1/projects", """{"string_id": "Has Spaces"}""", 400, "string_id" },
        { "POST", "/api/v1/projects", """{"name": "no id"}""", 400, "string_id" },
        { "GET", "no/such/route", null, 404, null },
        { "DELETE", "action-template/list", null, 405, null },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequest_Answered4xxProblemNamingTheField(string method, string route, string? body, int status, string? field)
    {
        var setup = await SetupAsync();
        var templates = (await setup.Project.Admin.GetAsync(setup.Project.P("action-template/list"))).Json["action_template_list"]!.AsArray();
        var webhookTemplate = (long)templates.Single(t => (string?)t!["kind"] == "Webhook")!["id"]!;
        string Fill(string s) => s.Replace("{w}", setup.WorkflowId.ToString(), StringComparison.Ordinal)
            .Replace("{a}", setup.WebhookId.ToString(), StringComparison.Ordinal)
            .Replace("\"{webhook_template}\"", webhookTemplate.ToString(), StringComparison.Ordinal)
            .Replace("\"{w}\"", setup.WorkflowId.ToString(), StringComparison.Ordinal);
        var path = route.StartsWith('/') ? route : setup.Project.P(Fill(route));
        using var client = ApiClient.Admin(fixture.Host);
        var content = body is null ? null : new StringContent(Fill(body), Encoding.UTF8, "application/json");
        var response = await client.SendRawAsync(new HttpMethod(method), path, content);

        ApiAssert.Problem(response, (HttpStatusCode)status, field);
        if (field is not null)
        {
            Assert.NotEmpty(response.Json["errors"]![field]!.AsArray());
        }
    }

    [Fact]
    public async Task Body_Over1MiB_413Problem_WithLengthOrChunked()
    {
        var setup = await SetupAsync();
        using var client = ApiClient.Admin(fixture.Host);
        var big = "{\"kind\": \"x\", \"description\": \"" + new string('a', 1024 * 1024) + "\"}";
        ApiAssert.Problem(await client.SendRawAsync(HttpMethod.Post, setup.Project.P("events"), new StringContent(big, Encoding.UTF8, "application/json")),
            HttpStatusCode.RequestEntityTooLarge);
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await client.SendRawAsync(HttpMethod.Post, setup.Project.P("events"), new ChunkedContent(chunked));
        ApiAssert.Problem(response, HttpStatusCode.RequestEntityTooLarge);

        // Just under the limit is fine, with a length or chunked (read whole across many reads), and the event is what was sent.
        var fits = "{\"kind\": \"x\", \"description\": \"" + new string('a', 1000 * 1000) + "\"}";
        var withLength = await client.SendRawAsync(HttpMethod.Post, setup.Project.P("events"), new StringContent(fits, Encoding.UTF8, "application/json"));
        ApiAssert.Ok(withLength, HttpStatusCode.Accepted);
        Assert.Equal(1000 * 1000, ((string)withLength.Json["event"]!["description"]!).Length);
        var fitsChunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(fits)));
        fitsChunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var chunkedFits = await client.SendRawAsync(HttpMethod.Post, setup.Project.P("events"), new ChunkedContent(fitsChunked));
        ApiAssert.Ok(chunkedFits, HttpStatusCode.Accepted);
        Assert.Equal(1000 * 1000, ((string)chunkedFits.Json["event"]!["description"]!).Length);
    }

    [Fact]
    public async Task Body_WithoutJsonContentType_ReadAsJsonLikeDiffgram()
    {
        var setup = await SetupAsync();
        using var client = ApiClient.Admin(fixture.Host);
        var form = new StringContent("""{"name": "from curl -d"}""", Encoding.UTF8, "application/x-www-form-urlencoded");
        ApiAssert.Ok(await client.SendRawAsync(HttpMethod.Post, setup.Project.P("actions/workflow/new"), form));
    }

    [Fact]
    public async Task Activate_StepMissingRequiredConfig_400NamingStepAndField()
    {
        var setup = await SetupAsync();
        var api = setup.Project.Editor;
        var response = await api.PutAsync(setup.Project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = setup.WorkflowId, ["active"] = true });

        ApiAssert.Problem(response, HttpStatusCode.BadRequest, $"actions.{setup.WebhookId}.config_data.url");
        Assert.False((bool)(await api.GetAsync(setup.Project.P($"workflow/{setup.WorkflowId}"))).Json["workflow"]!["active"]!);
    }

    private Task<Setup> SetupAsync() => fixture.SharedAsync("setup", async () =>
    {
        var project = await TestProject.CreateAsync(fixture.Host);
        var workflowId = (long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "validation" })).Json["workflow"]!["id"]!;
        // Diffgram's builder creates the step before its URL is typed in: accepted while the workflow is inactive.
        var webhook = await project.Editor.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject { ["kind"] = "Webhook" });
        ApiAssert.Ok(webhook);
        return new Setup(project, workflowId, (long)webhook.Json["action"]!["id"]!);
    });

    /// <summary>Sends its inner content without a Content-Length (Transfer-Encoding: chunked).</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly HttpContent _inner;

        public ChunkedContent(HttpContent inner)
        {
            _inner = inner;
            Headers.ContentType = inner.Headers.ContentType;
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => _inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
