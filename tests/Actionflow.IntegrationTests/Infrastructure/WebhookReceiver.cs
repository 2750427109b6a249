using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Actionflow.IntegrationTests.Infrastructure;

public sealed record Delivery(
    string Path, string? WebhookId, bool SignatureValid, JsonObject Body, DateTime ReceivedAt, int StatusCode = 200,
    IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>A real HTTP server on 127.0.0.1 that records webhook deliveries and checks their Standard Webhooks signature itself.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Delivery> _deliveries = new();
    private readonly byte[] _key;

    private WebhookReceiver(WebApplication app, byte[] key)
    {
        _app = app;
        _key = key;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyCollection<Delivery> Deliveries => _deliveries.ToArray();

    public static async Task<WebhookReceiver> StartAsync(string secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, Encoding.UTF8.GetBytes(secret));
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var id = http.Request.Headers["webhook-id"].ToString();
            var timestamp = http.Request.Headers["webhook-timestamp"].ToString();
            var signature = http.Request.Headers["webhook-signature"].ToString();
            if (http.Request.Path.StartsWithSegments("/flaky"))
            {
                // Paths under /flaky/ fail 30 % of requests with 503 and time out on 5 % (answer after 3 s).
                var roll = Random.Shared.NextDouble();
                var status = roll < 0.30 ? 503 : roll < 0.35 ? 504 : 200;
                receiver._deliveries.Enqueue(new Delivery(http.Request.Path, id, receiver.Verify(id, timestamp, body, signature),
                    JsonNode.Parse(body) as JsonObject ?? [], DateTime.UtcNow, status));
                if (status == 504)
                {
                    await Task.Delay(TimeSpan.FromSeconds(3));
                }

                return status == 200 ? Results.Ok(new { received = true }) : Results.StatusCode(503);
            }

            receiver._deliveries.Enqueue(new Delivery(http.Request.Path, id, receiver.Verify(id, timestamp, body, signature),
                JsonNode.Parse(body) as JsonObject ?? [], DateTime.UtcNow,
                Headers: http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            if (http.Request.Path.StartsWithSegments("/deep", out var rest)
                && int.TryParse(rest.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(), out var depth))
            {
                // Paths under /deep/{n}/ answer a JSON document nested n levels.
                return Results.Text(DeepJson(depth), "application/json");
            }

            if (http.Request.Path.StartsWithSegments("/echo"))
            {
                // Paths under /echo/ answer with the request's headers, as a careless API would echo a credential.
                return Results.Json(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            }

            if (http.Request.Path.StartsWithSegments("/pause"))
            {
                // Paths under /pause/ answer after 20 ms: a step that takes long enough for runs to overlap if they may.
                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }

            if (http.Request.Path.StartsWithSegments("/slow"))
            {
                // Paths under /slow/ answer after 3 s: a step that is still running when a test acts on it.
                await Task.Delay(TimeSpan.FromSeconds(3));
            }

            // Paths under /fail/ answer 500, to make a step fail.
            return http.Request.Path.StartsWithSegments("/fail")
                ? Results.Json(new { error = "receiver configured to fail" }, statusCode: 500)
                : Results.Ok(new { received = true });
        });
        await app.StartAsync();
        var address = app.Services.GetService(typeof(IServer)) is IServer server
            ? server.Features.Get<IServerAddressesFeature>()!.Addresses.First()
            : throw new InvalidOperationException("no server");
        receiver.BaseAddress = new Uri(address + "/");
        return receiver;
    }

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    /// <summary>JSON text of objects nested <paramref name="depth"/> levels: <c>{"a":{"a":...{"leaf":1}}}</c>.</summary>
    public static string DeepJson(int depth) =>
        string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{\"leaf\":1}" + new string('}', depth - 1);

    private bool Verify(string id, string timestamp, string body, string signatureHeader)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signatureHeader))
        {
            return false;
        }

        var expected = Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        return signatureHeader.Split(' ').Any(s => s == "v1," + expected);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
