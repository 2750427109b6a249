using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Each role against each route family, another project's keys, and missing or wrong credentials.</summary>
public sealed class AuthorizationTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    public enum Family
    {
        Read,
        Write,
        Keys,
    }

    private sealed record Call(Family Family, HttpMethod Method, string Route, JsonObject? Body);

    private sealed class World
    {
        public required TestProject A { get; init; }
        public required TestProject B { get; init; }
        public required List<Call> Calls { get; init; }
    }

    [Theory]
    [InlineData("viewer", Family.Read, true)]
    [InlineData("viewer", Family.Write, false)]
    [InlineData("viewer", Family.Keys, false)]
    [InlineData("editor", Family.Read, true)]
    [InlineData("editor", Family.Write, true)]
    [InlineData("editor", Family.Keys, false)]
    [InlineData("admin", Family.Read, true)]
    [InlineData("admin", Family.Write, true)]
    [InlineData("admin", Family.Keys, true)]
    public async Task RoleInOwnProject_EachRouteOfFamily_AllowedOr403(string role, Family family, bool allowed)
    {
        var world = await WorldAsync();
        var client = role switch { "viewer" => world.A.Viewer, "editor" => world.A.Editor, _ => world.A.Admin };
        foreach (var call in world.Calls.Where(c => c.Family == family))
        {
            var response = await client.SendAsync(call.Method, world.A.P(call.Route), call.Body);
            if (allowed)
            {
                Assert.True(IsAllowed(response), $"{role} {call.Method} {call.Route}: {response}");
            }
            else
            {
                ApiAssert.Problem(response, HttpStatusCode.Forbidden);
            }
        }
    }

    [Theory]
    [InlineData(Family.Read)]
    [InlineData(Family.Write)]
    [InlineData(Family.Keys)]
    public async Task OtherProjectsAdminKey_EachRouteOfFamily_404AsIfNoSuchProject(Family family)
    {
        var world = await WorldAsync();
        foreach (var call in world.Calls.Where(c => c.Family == family))
        {
            var response = await world.B.Admin.SendAsync(call.Method, world.A.P(call.Route), call.Body);
            ApiAssert.Problem(response, HttpStatusCode.NotFound);
            Assert.Equal($"Project '{world.A.StringId}' was not found.", (string?)response.Json["detail"]);
        }
    }

    [Fact]
    public async Task OtherProjectsIds_InOwnProjectPath_404()
    {
        var world = await WorldAsync();
        var bWorkflow = (long)(await world.B.Editor.PostAsync(world.B.P("actions/workflow/new"), new JsonObject { ["name"] = "b's" })).Json["workflow"]!["id"]!;

        ApiAssert.Problem(await world.A.Admin.GetAsync(world.A.P($"workflow/{bWorkflow}")), HttpStatusCode.NotFound);
        ApiAssert.Problem(await world.A.Admin.PostAsync(world.A.P($"actions/workflow/{bWorkflow}/action"), new JsonObject { ["kind"] = "noop" }), HttpStatusCode.NotFound);
        ApiAssert.Problem(await world.A.Admin.PutAsync(world.A.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = bWorkflow, ["name"] = "mine" }),
            HttpStatusCode.NotFound);
        ApiAssert.Problem(await world.A.Admin.DeleteAsync(world.A.P($"api-keys/{world.B.Keys["viewer"].ClientId}")), HttpStatusCode.NotFound);
        ApiAssert.Ok(await world.B.Viewer.GetAsync(world.B.P($"workflow/{bWorkflow}")));
    }

    [Theory]
    [InlineData(Family.Read)]
    [InlineData(Family.Write)]
    [InlineData(Family.Keys)]
    public async Task AdminToken_EveryRoute_Allowed(Family family)
    {
        var world = await WorldAsync();
        using var installation = ApiClient.Admin(fixture.Host);
        foreach (var call in world.Calls.Where(c => c.Family == family))
        {
            var response = await installation.SendAsync(call.Method, world.A.P(call.Route), call.Body);
            Assert.True(IsAllowed(response), $"admin token {call.Method} {call.Route}: {response}");
        }
    }

    [Fact]
    public async Task MissingOrWrongCredentials_EveryRoute_401WithChallenge()
    {
        var world = await WorldAsync();
        var (clientId, secret) = world.A.Keys["admin"];
        using var none = ApiClient.Anonymous(fixture.Host);
        using var wrongSecret = ApiClient.Basic(fixture.Host, clientId, secret + "x");
        using var wrongClient = ApiClient.Basic(fixture.Host, world.A.Keys["viewer"].ClientId, secret);
        using var wrongBearer = ApiClient.Bearer(fixture.Host, "not-a-key");
        using var otherScheme = new ApiClient(fixture.Host.BaseAddress, new AuthenticationHeaderValue("Token", secret));
        using var garbledBasic = new ApiClient(fixture.Host.BaseAddress, new AuthenticationHeaderValue("Basic", "%%%"));
        foreach (var client in (ApiClient[])[none, wrongSecret, wrongClient, wrongBearer, otherScheme, garbledBasic])
        {
            foreach (var call in world.Calls.Append(new Call(Family.Keys, HttpMethod.Post, "/api/v1/projects", new JsonObject { ["string_id"] = "nope" })))
            {
                var response = await client.SendAsync(call.Method, call.Route.StartsWith('/') ? call.Route : world.A.P(call.Route), call.Body);
                ApiAssert.Problem(response, HttpStatusCode.Unauthorized);
                Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
                Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }
        }

        // Health stays open; the key works as Bearer too.
        ApiAssert.Ok(await none.GetAsync("health/ready"));
        using var bearer = ApiClient.Bearer(fixture.Host, secret);
        ApiAssert.Ok(await bearer.GetAsync(world.A.P("api-keys")));
    }

    [Fact]
    public async Task InstallationRoutes_ProjectKeys_403_AdminToken_Allowed()
    {
        var world = await WorldAsync();
        var body = new JsonObject { ["string_id"] = "made-by-" + Guid.NewGuid().ToString("N")[..8] };
        ApiAssert.Problem(await world.A.Admin.PostAsync("api/v1/projects", body), HttpStatusCode.Forbidden);
        ApiAssert.Problem(await world.A.Viewer.PostAsync("api/v1/projects", body), HttpStatusCode.Forbidden);
        using var installation = ApiClient.Admin(fixture.Host);
        ApiAssert.Ok(await installation.PostAsync("api/v1/projects", body), HttpStatusCode.Created);
        ApiAssert.Problem(await installation.PostAsync("api/v1/projects", body), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ApiKeys_CreateListDelete_SecretShownOnceAndRevokedAtOnce()
    {
        var world = await WorldAsync();
        var created = await world.A.Admin.PostAsync(world.A.P("api-keys"), new JsonObject { ["role"] = "Editor" });
        ApiAssert.Ok(created, HttpStatusCode.Created);
        var clientId = (string)created.Json["client_id"]!;
        var secret = (string)created.Json["client_secret"]!;
        Assert.Equal("editor", (string?)created.Json["role"]);
        Assert.True(secret.Length >= 40, "the secret carries 256 random bits");

        var list = await world.A.Admin.GetAsync(world.A.P("api-keys"));
        Assert.Contains(list.Json["api_key_list"]!.AsArray(), k => (string?)k!["client_id"] == clientId);
        Assert.DoesNotContain(secret, list.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", list.Raw, StringComparison.Ordinal);

        using var key = ApiClient.Basic(fixture.Host, clientId, secret);
        ApiAssert.Ok(await key.PostAsync(world.A.P("action/flow/list"), new JsonObject()));
        ApiAssert.Ok(await world.A.Admin.DeleteAsync(world.A.P($"api-keys/{clientId}")), HttpStatusCode.NoContent);
        ApiAssert.Problem(await key.PostAsync(world.A.P("action/flow/list"), new JsonObject()), HttpStatusCode.Unauthorized);
        ApiAssert.Problem(await world.A.Admin.DeleteAsync(world.A.P($"api-keys/{clientId}")), HttpStatusCode.NotFound);

        await using var db = await fixture.Pipeline.Contexts.CreateDbContextAsync();
        var stored = db.Set<Actionflow.Core.Domain.ApiKey>().Where(k => k.ProjectId == world.A.Id).Select(k => k.SecretHash).ToList();
        Assert.All(stored, h => Assert.Equal(32, h.Length));
    }

    [Fact]
    public async Task ApiKey_DeletedByAnotherProcess_RefusedHereOnceTheRecheckBoundPasses()
    {
        var world = await WorldAsync();
        var created = await world.A.Admin.PostAsync(world.A.P("api-keys"), new JsonObject { ["role"] = "Editor" });
        ApiAssert.Ok(created, HttpStatusCode.Created);
        var clientId = (string)created.Json["client_id"]!;
        using var key = ApiClient.Bearer(fixture.Host, (string)created.Json["client_secret"]!);
        // Read once through this host, so it holds the key.
        ApiAssert.Ok(await key.PostAsync(world.A.P("action/flow/list"), new JsonObject()));

        // Another process's revocation reaches this one only through the database.
        await using (var db = await fixture.Pipeline.Contexts.CreateDbContextAsync())
        {
            Assert.Equal(1, await db.Set<Actionflow.Core.Domain.ApiKey>().Where(k => k.ClientId == clientId).ExecuteDeleteAsync());
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        ApiResponse last;
        while ((last = await key.PostAsync(world.A.P("action/flow/list"), new JsonObject())).Status != HttpStatusCode.Unauthorized && DateTime.UtcNow < deadline)
        {
            ApiAssert.Ok(last);
            await Task.Delay(100);
        }

        ApiAssert.Problem(last, HttpStatusCode.Unauthorized);
    }

    private static bool IsAllowed(ApiResponse response) =>
        response.Status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        && !(response.Status == HttpStatusCode.NotFound && ((string?)response.Body?["detail"])?.StartsWith("Project ", StringComparison.Ordinal) == true)
        && (int)response.Status < 500;

    private Task<World> WorldAsync() => fixture.SharedAsync("world", async () =>
    {
        var a = await TestProject.CreateAsync(fixture.Host);
        var b = await TestProject.CreateAsync(fixture.Host);
        var api = a.Editor;
        var workflowId = (long)(await api.PostAsync(a.P("actions/workflow/new"), new JsonObject { ["name"] = "auth" })).Json["workflow"]!["id"]!;
        var manual = (long)(await api.PostAsync(a.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "manual_trigger" },
        })).Json["action"]!["id"]!;
        var chained = (long)(await api.PostAsync(a.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(a.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await api.PutAsync(a.P($"workflow/{workflowId}/actions/{manual}/manual_trigger")), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(a.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => (string?)r["status"] == "succeeded", TimeSpan.FromSeconds(45), "the setup run");
        var runId = (long)run["id"]!;
        var templateId = (long)(await api.GetAsync(a.P("action-template/list"))).Json["action_template_list"]![0]!["id"]!;

        List<Call> calls =
        [
            new(Family.Read, HttpMethod.Get, $"workflow/{workflowId}", null),
            new(Family.Read, HttpMethod.Post, "action/flow/list", new JsonObject()),
            new(Family.Read, HttpMethod.Post, "action/workflow-run/list", new JsonObject { ["flow_id"] = workflowId }),
            new(Family.Read, HttpMethod.Get, $"action/previous/{chained}", null),
            new(Family.Read, HttpMethod.Get, $"action/{manual}/runs/list", null),
            new(Family.Read, HttpMethod.Get, "action-template/list", null),
            new(Family.Read, HttpMethod.Get, $"action-template/{templateId}", null),
            new(Family.Read, HttpMethod.Get, "events?kind=manual_trigger", null),
            new(Family.Read, HttpMethod.Get, $"workflow-runs/{runId}", null),
            new(Family.Write, HttpMethod.Post, "actions/workflow/new", new JsonObject { ["name"] = "more" }),
            new(Family.Write, HttpMethod.Put, "actions/workflow/update", new JsonObject { ["workflow_id"] = workflowId, ["name"] = "auth" }),
            new(Family.Write, HttpMethod.Post, $"actions/workflow/{workflowId}/action", new JsonObject { ["kind"] = "noop", ["active"] = false }),
            new(Family.Write, HttpMethod.Put, $"actions/{chained}", new JsonObject { ["description"] = "touched" }),
            new(Family.Write, HttpMethod.Put, $"workflow/{workflowId}/actions/{manual}/manual_trigger", null),
            new(Family.Write, HttpMethod.Post, "events", new JsonObject { ["kind"] = "custom_event" }),
            new(Family.Write, HttpMethod.Post, $"workflow-runs/{runId}/retry", null),
            new(Family.Write, HttpMethod.Post, $"workflow-runs/{runId}/cancel", null),
            new(Family.Keys, HttpMethod.Post, "api-keys", new JsonObject { ["role"] = "viewer" }),
            new(Family.Keys, HttpMethod.Get, "api-keys", null),
            new(Family.Keys, HttpMethod.Delete, "api-keys/af_no_such_key", null),
        ];
        return new World { A = a, B = b, Calls = calls };
    });
}
