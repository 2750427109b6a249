using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Issue 16: what the API does before it reads a body, and what every answer carries.</summary>
public sealed class RequestHardeningTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    [Fact]
    public async Task ChunkedBody_WithoutCredentials_401BeforeTheBodyIsRead()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Host.BaseAddress.Host, fixture.Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"POST /{project.P("events")} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        // The first 64 KiB of what would be a 3 MiB body; the rest is never sent.
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"));
        await stream.WriteAsync(chunk);
        await stream.WriteAsync("\r\n"u8.ToArray());
        await stream.FlushAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var status = await ReadStatusLineAsync(stream, timeout.Token);

        Assert.StartsWith("HTTP/1.1 401", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCredentials_ManyRequests_NoInformationLogLines()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var wrong = ApiClient.Bearer(fixture.Host, "afsk_wrong-key-for-log-noise");
        using var garbled = new ApiClient(fixture.Host.BaseAddress, new AuthenticationHeaderValue("Basic", "%%%"));
        for (var i = 0; i < 20; i++)
        {
            ApiAssert.Problem(await wrong.GetAsync(project.P("events")), HttpStatusCode.Unauthorized);
            ApiAssert.Problem(await garbled.GetAsync(project.P("events")), HttpStatusCode.Unauthorized);
        }

        // A request after them that is logged at Information: every line of the rejected ones would be before it.
        using var installation = ApiClient.Admin(fixture.Host);
        var marker = "marker-" + Guid.NewGuid().ToString("N")[..8];
        ApiAssert.Ok(await installation.PostAsync("api/v1/projects", new JsonObject { ["string_id"] = marker }), HttpStatusCode.Created);
        await ApiAssert.EventuallyAsync(
            () => Task.FromResult<JsonObject?>(fixture.Host.Output.Contains(marker, StringComparison.Ordinal) ? [] : null), _ => true,
            TimeSpan.FromSeconds(10), "the marker log line");

        var output = fixture.Host.Output;
        Assert.DoesNotContain("was not authenticated", output, StringComparison.Ordinal);
        Assert.DoesNotContain("was challenged", output, StringComparison.Ordinal);
        // The handler's own category (the console's address, logged at start by Actionflow.Api.Auth.SetupTokenAnnouncer, is not about requests).
        Assert.DoesNotContain("info: Actionflow.Api.Auth.ApiKeyAuthenticationHandler", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api/v1/projects", false)]
    [InlineData("api/v1/project/{p}/events", true)]
    [InlineData("api/v1/project/{p}/events", false)]
    [InlineData("openapi/v1.json", false)]
    [InlineData("scalar", false)]
    [InlineData("health/ready", false)]
    [InlineData("no/such/page", false)]
    public async Task AnyResponse_CarriesNosniffAndFrameDenial_AndNoServerHeader(string route, bool withKey)
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, route.Replace("{p}", project.StringId, StringComparison.Ordinal));
        if (withKey)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", project.Keys["viewer"].Secret);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", string.Join(",", response.Headers.GetValues("X-Frame-Options")));
        Assert.Contains("frame-ancestors 'none'", string.Join(",", response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Server"), "Server: " + string.Join(",", response.Headers.Server));
    }

    [Fact]
    public async Task CreateApiKey_ResponseCarryingTheSecret_IsNoStore()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Pipeline.AdminToken);

        using var response = await http.PostAsync(project.P("api-keys"), new StringContent("""{"role": "viewer"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore, "Cache-Control: " + response.Headers.CacheControl);
    }

    [Fact]
    public async Task AuthFailures_OverTheConfiguredLimit_429WithRetryAfter_ValidKeysUnaffected()
    {
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.Embedded);
        var host = await pipeline.StartWorkerAsync(new Dictionary<string, string> { ["Actionflow__AuthFailureLimit"] = "5" });
        using var project = await TestProject.CreateAsync(host);
        using var wrong = ApiClient.Basic(host, project.Keys["admin"].ClientId, "afsk_not-the-secret");
        for (var i = 0; i < 5; i++)
        {
            ApiAssert.Problem(await wrong.GetAsync(project.P("events")), HttpStatusCode.Unauthorized);
        }

        var limited = await wrong.GetAsync(project.P("events"));

        ApiAssert.Problem(limited, HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After: " + limited.Headers.RetryAfter);
        using var bearer = ApiClient.Bearer(host, "afsk_another-wrong-one");
        ApiAssert.Problem(await bearer.GetAsync(project.P("events")), HttpStatusCode.TooManyRequests);
        // Requests with valid credentials, and requests with none, are never counted nor refused.
        for (var i = 0; i < 10; i++)
        {
            ApiAssert.Ok(await project.Viewer.GetAsync(project.P("events")));
        }

        using var anonymous = ApiClient.Anonymous(host);
        ApiAssert.Problem(await anonymous.GetAsync(project.P("events")), HttpStatusCode.Unauthorized);
        ApiAssert.Ok(await anonymous.GetAsync("health/ready"));
    }

    private static async Task<string> ReadStatusLineAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var received = new StringBuilder();
        var buffer = new byte[1024];
        while (!received.ToString().Contains("\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString().Split("\r\n")[0];
    }
}
