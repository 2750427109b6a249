using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Actionflow.Actions.Tests;

/// <summary>A real HTTP receiver on 127.0.0.1 (Kestrel) that records what it was sent.</summary>
public sealed class WebhookReceiver : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<ReceivedRequest>> _received = new();
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    public int Port => new Uri(BaseUrl).Port;

    /// <summary>A fresh path for one test, so tests sharing the receiver never see each other's requests.</summary>
    public static string NewPath() => Guid.NewGuid().ToString("N");

    public IReadOnlyList<ReceivedRequest> Received(string path) =>
        _received.TryGetValue(path, out var queue) ? [.. queue] : [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();

        // Every endpoint records the request under {path}, then answers as its route says.
        _app.MapPost("/hook/{path}", async (string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return Results.Json(new { received = true });
        });
        _app.MapPost("/status/{code:int}/{path}", async (int code, string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return code == 204 ? Results.NoContent() : Results.Text($"status {code}", statusCode: code);
        });
        _app.MapPost("/busy/{path}", async (string path, HttpRequest request, HttpResponse response) =>
        {
            await RecordAsync(path, request);
            response.Headers.RetryAfter = "7";
            return Results.Text("busy", statusCode: 429);
        });
        _app.MapPost("/text/{path}", async (string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return Results.Text("plain ok");
        });
        _app.MapPost("/big/{path}", async (string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return Results.Text(new string('x', 10_000));
        });
        _app.MapPost("/bigjson/{path}", async (string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return Results.Json(new { items = Enumerable.Range(0, 2_000).ToArray() });
        });
        _app.MapPost("/slow/{path}", async (string path, HttpRequest request, CancellationToken aborted) =>
        {
            await RecordAsync(path, request);
            await Task.Delay(TimeSpan.FromSeconds(5), aborted);
            return Results.Ok();
        });
        _app.MapPost("/redirect/{path}", async (string path, HttpRequest request) =>
        {
            await RecordAsync(path, request);
            return Results.Redirect($"/hook/{path}-redirected");
        });

        await _app.StartAsync();
        BaseUrl = _app.Urls.Single();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task RecordAsync(string path, HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        _received.GetOrAdd(path, _ => new()).Enqueue(new ReceivedRequest(request.Method, headers, body.ToArray()));
    }
}

public sealed record ReceivedRequest(string Method, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
