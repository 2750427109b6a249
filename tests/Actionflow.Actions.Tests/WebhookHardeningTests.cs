using System.Net;
using System.Net.Sockets;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

/// <summary>What the security probe of issue 16 found in the Webhook: tokens in URLs reaching logs, run errors and outputs; headers the HTTP client refuses.</summary>
public sealed class WebhookHardeningTests(WebhookReceiver receiver) : IClassFixture<WebhookReceiver>, IDisposable
{
    private const string Token = "tok-LEAK-4f1c";

    private readonly ServiceProvider _services = TestHelpers.CreateServices(allowPrivateNetworks: true);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task ExecuteAsync_UnreachableUrlWithQueryAndFragment_NeitherInReasonOutputOrLogs()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var logger = new RecordingLogger();

        var result = await RunAsync(new WebhookConfig { Url = $"http://127.0.0.1:{port}/hook?access_token={Token}#frag-{Token}" }, logger);

        Assert.True(result.IsRetryable, result.FailureReason);
        Assert.StartsWith($"could not reach http://127.0.0.1:{port}/hook: ", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal($"http://127.0.0.1:{port}/hook", (string?)result.Output["url"]);
        AssertNowhere(Token, result, logger);
    }

    [Theory]
    [InlineData("status/500", false)]
    [InlineData("status/404", false)]
    [InlineData("hook", true)]
    public async Task ExecuteAsync_AnsweredUrlWithQuery_OutputAndReasonShowItWithoutTheQuery(string route, bool succeeds)
    {
        var path = WebhookReceiver.NewPath();
        var logger = new RecordingLogger();

        var result = await RunAsync(new WebhookConfig { Url = $"{receiver.BaseUrl}/{route}/{path}?access_token={Token}&x=1" }, logger);

        Assert.Equal(succeeds, result.Succeeded);
        Assert.Single(receiver.Received(path));
        Assert.Equal($"{receiver.BaseUrl}/{route}/{path}", (string?)result.Output["url"]);
        if (!succeeds)
        {
            Assert.EndsWith($" from {receiver.BaseUrl}/{route}/{path}", result.FailureReason, StringComparison.Ordinal);
        }

        AssertNowhere(Token, result, logger);
    }

    [Theory]
    [InlineData("X-Accented", "caf\u00e9")]
    [InlineData("X-Emoji", "\U0001F600")]
    [InlineData("X-Delete", "a\u007fb")]
    [InlineData("X-Bell", "a\u0007b")]
    public async Task ExecuteAsync_HeaderValueTheClientCannotSend_FailsFinallyWithoutSending(string name, string value)
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(new WebhookConfig { Url = $"{receiver.BaseUrl}/hook/{path}", Headers = new() { [name] = value } });

        Assert.False(result.Succeeded);
        Assert.False(result.IsRetryable, $"a header that can never be sent must not be retried: {result.FailureReason}");
        Assert.Contains($"'{name}'", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received(path));
    }

    [Theory]
    [InlineData("Transfer-Encoding")]
    [InlineData("Connection")]
    [InlineData("Upgrade")]
    [InlineData("TE")]
    [InlineData("Expect")]
    [InlineData("Proxy-Authorization")]
    [InlineData("Content-Encoding")]
    [InlineData("Keep-Alive")]
    public async Task ExecuteAsync_HopByHopOrFramingHeader_FailsFinallyWithoutSending(string name)
    {
        var path = WebhookReceiver.NewPath();

        var result = await RunAsync(new WebhookConfig { Url = $"{receiver.BaseUrl}/hook/{path}", Headers = new() { [name] = "x" } });

        Assert.False(result.Succeeded);
        Assert.False(result.IsRetryable);
        Assert.StartsWith($"header '{name}' cannot be set", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received(path));
    }

    private async Task<ActionResult> RunAsync(WebhookConfig config, RecordingLogger? logger = null) =>
        await _services.Webhook().ExecuteAsync(TestHelpers.Context(config, logger), CancellationToken.None);

    private static void AssertNowhere(string text, ActionResult result, RecordingLogger logger)
    {
        Assert.DoesNotContain(text, result.FailureReason ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain(text, result.Output.ToJsonString(), StringComparison.Ordinal);
        Assert.All(logger.Lines, line => Assert.DoesNotContain(text, line, StringComparison.Ordinal));
    }
}
