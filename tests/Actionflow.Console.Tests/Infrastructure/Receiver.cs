using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>
/// A webhook receiver on 127.0.0.1 that a test steers: hold requests until released (a run stays running while the
/// test watches), or answer 500 (the run fails).
/// </summary>
public sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _bodies = new();
    private TaskCompletionSource _gate = Open();

    private Receiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public bool Fail { get; set; }

    public int Received => _bodies.Count;

    /// <summary>Signalled when a request arrives while the gate is closed.</summary>
    public TaskCompletionSource Held { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app);
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            receiver._bodies.Enqueue(await reader.ReadToEndAsync());
            receiver.Held.TrySetResult();
            await receiver._gate.Task;
            return receiver.Fail ? Results.Json(new { error = "receiver told to fail" }, statusCode: 500) : Results.Ok(new { received = true });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseAddress = new Uri(address + "/");
        return receiver;
    }

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    /// <summary>From now on requests wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        Held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release() => _gate.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.DisposeAsync();
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
