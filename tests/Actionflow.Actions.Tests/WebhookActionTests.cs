using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

public sealed class WebhookActionTests(WebhookReceiver receiver) : IClassFixture<WebhookReceiver>, IDisposable
{
    private const string Secret = "s3cr3t-Do-Not-Leak";
    private const string WhsecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly ServiceProvider _services = TestHelpers.CreateServices(allowPrivateNetworks: true);

    public void Dispose() => _services.Dispose();

    private WebhookConfig Config(string route, string path, string? secret = null, int timeoutSeconds = 10, Dictionary<string, string>? headers = null) =>
        new() { Url = $"{receiver.BaseUrl}/{route}/{path}", Secret = secret, TimeoutSeconds = timeoutSeconds, Headers = headers };

    private Task<ActionResult> RunAsync(WebhookConfig config, RecordingLogger? logger = null, CancellationToken cancellationToken = default) =>
        _services.Webhook().ExecuteAsync(TestHelpers.Context(config, logger), cancellationToken).AsTask();

    // What a receiver would write from the Standard Webhooks spec alone, independent of WebhookSignature.
    private static bool ReceiverVerifies(byte[] key, ReceivedRequest request)
    {
        var signedContent = Encoding.UTF8.GetBytes($"{request.Header("webhook-id")}.{request.Header("webhook-timestamp")}.").Concat(request.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signedContent));
        return (request.Header("webhook-signature") ?? "").Split(' ').Contains(expected);
    }

    [Fact]
    public async Task ExecuteAsync_Event_PostsEventUntouchedWithWorkflowActionAndRunIds()
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(Config("hook", path));

        Assert.True(result.Succeeded, result.FailureReason);
        var request = Assert.Single(receiver.Received(path));
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.Equal(["event", "workflow_id", "action_id", "action_run_id"], body.Select(p => p.Key));
        Assert.True(JsonNode.DeepEquals(TestHelpers.DiffgramEvent(), body["event"]), body["event"]!.ToJsonString());
        Assert.Equal(TestHelpers.TriggeringActionId, (long)body["event"]!["action_id"]!);
        Assert.Equal(TestHelpers.WorkflowId, (long)body["workflow_id"]!);
        Assert.Equal(TestHelpers.ActionId, (long)body["action_id"]!);
        Assert.Equal(TestHelpers.RunId, (long)body["action_run_id"]!);
    }

    [Fact]
    public async Task ExecuteAsync_NoSecret_SendsIdAndTimestampWithoutSignature()
    {
        var path = WebhookReceiver.NewPath();

        await RunAsync(Config("hook", path));

        var request = Assert.Single(receiver.Received(path));
        Assert.Equal($"run_{TestHelpers.RunId}", request.Header("webhook-id"));
        var timestamp = long.Parse(request.Header("webhook-timestamp")!, CultureInfo.InvariantCulture);
        Assert.InRange(timestamp, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        Assert.Null(request.Header("webhook-signature"));
    }

    [Fact]
    public async Task ExecuteAsync_PlainSecret_SignatureVerifiesWithReceiversCheck()
    {
        var path = WebhookReceiver.NewPath();

        await RunAsync(Config("hook", path, Secret));

        var request = Assert.Single(receiver.Received(path));
        Assert.True(ReceiverVerifies(Encoding.UTF8.GetBytes(Secret), request));
        Assert.False(ReceiverVerifies(Encoding.UTF8.GetBytes("another secret"), request));
        Assert.True(WebhookSignature.Verify(
            Secret, request.Header("webhook-id")!, request.Header("webhook-timestamp")!, request.Header("webhook-signature")!,
            request.Body, DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify(
            "another secret", request.Header("webhook-id")!, request.Header("webhook-timestamp")!, request.Header("webhook-signature")!, request.Body));
    }

    [Fact]
    public async Task ExecuteAsync_WhsecSecret_SignsWithTheBase64DecodedKey()
    {
        var path = WebhookReceiver.NewPath();

        await RunAsync(Config("hook", path, WhsecSecret));

        var request = Assert.Single(receiver.Received(path));
        Assert.True(ReceiverVerifies(Convert.FromBase64String(WhsecSecret["whsec_".Length..]), request));
        Assert.False(ReceiverVerifies(Encoding.UTF8.GetBytes(WhsecSecret), request));
    }

    [Fact]
    public async Task ExecuteAsync_RetriedRun_KeepsTheSameWebhookId()
    {
        var path = WebhookReceiver.NewPath();
        var runner = _services.Webhook();
        var config = Config("hook", path, Secret);

        await runner.ExecuteAsync(TestHelpers.Context(config, attempt: 1), CancellationToken.None);
        await runner.ExecuteAsync(TestHelpers.Context(config, attempt: 2), CancellationToken.None);
        await runner.ExecuteAsync(TestHelpers.Context(config, runId: 43), CancellationToken.None);

        var ids = receiver.Received(path).Select(r => r.Header("webhook-id") ?? "").ToArray();
        Assert.Equal(["run_42", "run_42", "run_43"], ids);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(202)]
    [InlineData(204)]
    public async Task ExecuteAsync_2xxResponse_Succeeds(int statusCode)
    {
        var path = WebhookReceiver.NewPath();
        var config = Config($"status/{statusCode}", path);

        var result = await RunAsync(config);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Null(result.FailureReason);
        Assert.Equal(statusCode, (int)result.Output["status_code"]!);
        Assert.Equal(config.Url, (string)result.Output["url"]!);
        Assert.False((bool)result.Output["response_truncated"]!);
        Assert.Equal(["status_code", "url", "response", "response_truncated"], result.Output.Select(p => p.Key));
    }

    [Theory]
    [InlineData(404, "Not Found")]
    [InlineData(500, "Internal Server Error")]
    public async Task ExecuteAsync_Non2xxResponse_FailsWithStatusInReason(int statusCode, string reasonPhrase)
    {
        var path = WebhookReceiver.NewPath();
        var config = Config($"status/{statusCode}", path);

        var result = await RunAsync(config);

        Assert.False(result.Succeeded);
        Assert.Equal($"HTTP {statusCode} {reasonPhrase} from {config.Url}", result.FailureReason);
        Assert.Equal(statusCode, (int)result.Output["status_code"]!);
        Assert.Equal(config.Url, (string)result.Output["url"]!);
        Assert.Equal($"status {statusCode}", (string)result.Output["response"]!);
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    [InlineData(422, false)]
    public async Task ExecuteAsync_Non2xxResponse_IsRetryableOnlyForServerErrorsAndTimeouts(int statusCode, bool retryable)
    {
        var result = await RunAsync(Config($"status/{statusCode}", WebhookReceiver.NewPath()));

        Assert.False(result.Succeeded);
        Assert.Equal(retryable, result.IsRetryable);
    }

    [Fact]
    public async Task ExecuteAsync_TooManyRequests_IsRetryableAfterTheRetryAfterHeader()
    {
        var result = await RunAsync(Config("busy", WebhookReceiver.NewPath()));

        Assert.True(result.IsRetryable);
        Assert.Equal(TimeSpan.FromSeconds(7), result.RetryAfter);
    }

    [Fact]
    public async Task ExecuteAsync_JsonResponse_IsParsedIntoTheOutput()
    {
        var result = await RunAsync(Config("hook", WebhookReceiver.NewPath()));

        Assert.True(JsonNode.DeepEquals(new JsonObject { ["received"] = true }, result.Output["response"]), result.Output.ToJsonString());
    }

    [Fact]
    public async Task ExecuteAsync_TextResponse_IsKeptAsAString()
    {
        var result = await RunAsync(Config("text", WebhookReceiver.NewPath()));

        Assert.Equal("plain ok", (string)result.Output["response"]!);
    }

    [Theory]
    [InlineData("big")]
    [InlineData("bigjson")]
    public async Task ExecuteAsync_LargeResponse_IsCappedAt4KiB(string route)
    {
        var result = await RunAsync(Config(route, WebhookReceiver.NewPath()));

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(WebhookAction.MaxResponseBytes, ((string)result.Output["response"]!).Length);
        Assert.True((bool)result.Output["response_truncated"]!);
    }

    [Fact]
    public async Task ExecuteAsync_SlowReceiver_TimesOutQuickly()
    {
        var stopwatch = Stopwatch.StartNew();

        var result = await RunAsync(Config("slow", WebhookReceiver.NewPath(), timeoutSeconds: 1));

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(4));
        Assert.False(result.Succeeded);
        Assert.True(result.IsRetryable);
        Assert.Contains("timed out after 1s", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_CallerCancels_Throws()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            RunAsync(Config("slow", WebhookReceiver.NewPath(), timeoutSeconds: 30), cancellationToken: cancellation.Token));
    }

    [Fact]
    public async Task ExecuteAsync_NothingListening_FailsWithTheConnectionError()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await RunAsync(new WebhookConfig { Url = $"http://127.0.0.1:{port}/hook" });

        Assert.False(result.Succeeded);
        Assert.StartsWith($"could not reach http://127.0.0.1:{port}/hook: ", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("refused", result.FailureReason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ExecuteAsync_Redirect_IsNotFollowed()
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(Config("redirect", path));

        Assert.False(result.Succeeded);
        Assert.StartsWith("HTTP 302 Found from ", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received($"{path}-redirected"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:{0}/hook/{1}")]
    [InlineData("http://localhost:{0}/hook/{1}")]
    [InlineData("http://[::ffff:127.0.0.1]:{0}/hook/{1}")]
    public async Task ExecuteAsync_LoopbackWithoutAllowPrivateNetworks_IsRefused(string urlFormat)
    {
        using var guarded = TestHelpers.CreateServices(allowPrivateNetworks: false);
        var path = WebhookReceiver.NewPath();
        var config = new WebhookConfig { Url = string.Format(CultureInfo.InvariantCulture, urlFormat, receiver.Port, path) };

        var result = await guarded.Webhook().ExecuteAsync(TestHelpers.Context(config), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.EndsWith(", which webhooks may not reach; set Actionflow__Webhooks__AllowPrivateNetworks=true to allow it", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("oopback", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received(path));
    }

    [Fact]
    public async Task ExecuteAsync_LoopbackWithAllowPrivateNetworks_IsDelivered()
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(new WebhookConfig { Url = $"http://localhost:{receiver.Port}/hook/{path}" });

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Single(receiver.Received(path));
    }

    [Fact]
    public async Task ExecuteAsync_CustomHeaders_AreSent()
    {
        var path = WebhookReceiver.NewPath();
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer abc", ["X-Diffgram-Project"] = "p1" };

        var result = await RunAsync(Config("hook", path, headers: headers));

        Assert.True(result.Succeeded, result.FailureReason);
        var request = Assert.Single(receiver.Received(path));
        Assert.Equal("Bearer abc", request.Header("Authorization"));
        Assert.Equal("p1", request.Header("X-Diffgram-Project"));
    }

    [Theory]
    [InlineData("webhook-id")]
    [InlineData("Webhook-Signature")]
    [InlineData("WEBHOOK-TIMESTAMP")]
    [InlineData("content-type")]
    [InlineData("Content-Length")]
    [InlineData("Host")]
    public async Task ExecuteAsync_ReservedHeaderName_FailsWithoutSending(string name)
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(Config("hook", path, headers: new() { [name] = "x" }));

        Assert.False(result.Succeeded);
        Assert.StartsWith($"header '{name}' cannot be set", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received(path));
    }

    [Theory]
    [InlineData("Bad Name", "x")]
    [InlineData("X-Split", "a\r\nInjected: yes")]
    public async Task ExecuteAsync_InvalidHeader_FailsWithoutSending(string name, string value)
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(Config("hook", path, headers: new() { [name] = value }));

        Assert.False(result.Succeeded);
        Assert.Contains($"'{name}'", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("Injected", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not a url")]
    [InlineData("/relative/path")]
    [InlineData("ftp://example.com/file")]
    [InlineData("file:///etc/passwd")]
    public async Task ExecuteAsync_MissingOrInvalidUrl_FailsWithAClearReason(string url)
    {
        var result = await RunAsync(new WebhookConfig { Url = url });

        Assert.False(result.Succeeded);
        Assert.Contains("url", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("http or https", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_UrlWithCredentials_Fails()
    {
        var result = await RunAsync(new WebhookConfig { Url = $"http://user:pa55word@127.0.0.1:{receiver.Port}/hook/x" });

        Assert.False(result.Succeeded);
        Assert.DoesNotContain("pa55word", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55word", result.Output.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(301)]
    public async Task ExecuteAsync_TimeoutOutOfRange_Fails(int timeoutSeconds)
    {
        var result = await RunAsync(Config("hook", WebhookReceiver.NewPath(), timeoutSeconds: timeoutSeconds));

        Assert.False(result.Succeeded);
        Assert.Equal($"timeout_seconds must be between 1 and 300, got {timeoutSeconds}", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_WhsecSecretNotBase64_FailsWithoutQuotingIt()
    {
        const string badSecret = "whsec_not*base64!LeakMe";

        var result = await RunAsync(Config("hook", WebhookReceiver.NewPath(), badSecret));

        Assert.False(result.Succeeded);
        Assert.DoesNotContain("LeakMe", Serialize(result), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hook")]
    [InlineData("status/500")]
    [InlineData("slow")]
    public async Task ExecuteAsync_SecretAndHeaderValues_AppearNowhereInResultOrLogs(string route)
    {
        var logger = new RecordingLogger();
        var headerValue = "Bearer header-value-do-not-log";
        var config = Config(route, WebhookReceiver.NewPath(), Secret, timeoutSeconds: 1, headers: new() { ["Authorization"] = headerValue });

        var result = await RunAsync(config, logger);

        var everything = Serialize(result) + string.Join('\n', logger.Lines);
        Assert.NotEmpty(logger.Lines);
        Assert.DoesNotContain(Secret, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(headerValue, everything, StringComparison.Ordinal);
        Assert.DoesNotContain($"/{route}/", string.Join('\n', logger.Lines), StringComparison.Ordinal);
    }

    private static string Serialize(ActionResult result) =>
        new JsonObject
        {
            ["succeeded"] = result.Succeeded,
            ["failure_reason"] = result.FailureReason,
            ["output"] = result.Output.DeepClone(),
        }.ToJsonString();
}
