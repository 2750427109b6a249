using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Actionflow.Sdk;

namespace Actionflow.Bench;

/// <summary>
/// Hands events to the worker as a host application that is not Diffgram does: <c>POST /api/v1/project/{project}/events</c>
/// with an Editor API key of the event's project, over at most <c>--connections</c> keep-alive connections. An event
/// counts as sent when its request is; the 202s' own latency is reported on stderr.
/// </summary>
internal sealed class HttpEventFeed : IEventFeed
{
    /// <summary>What the benchmark puts before an event's id in its idempotency key (the API stores <c>api:</c> + key).</summary>
    public const string KeyPrefix = "bench-";

    private readonly HttpClient _http;
    private readonly int _connections;
    private readonly Dictionary<long, (string Path, AuthenticationHeaderValue Auth)> _projects;
    private readonly List<double> _acceptMs = [];

    private HttpEventFeed(HttpClient http, int connections, Dictionary<long, (string, AuthenticationHeaderValue)> projects)
    {
        _http = http;
        _connections = connections;
        _projects = projects;
    }

    /// <summary>A feed for events of <paramref name="projectIds"/>, each given an Editor API key.</summary>
    public static async Task<HttpEventFeed> CreateAsync(BenchStorage storage, Uri baseAddress, int connections, IEnumerable<long> projectIds)
    {
        var projects = new Dictionary<long, (string, AuthenticationHeaderValue)>();
        foreach (var id in projectIds.Distinct())
        {
            var path = $"api/v1/project/{await storage.ProjectStringIdAsync(id)}/events";
            projects[id] = (path, new AuthenticationHeaderValue("Bearer", await storage.CreateApiKeyAsync(id)));
        }

        var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
        })
        { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        return new HttpEventFeed(http, connections, projects);
    }

    /// <summary>The request body of event <paramref name="id"/>; its idempotency key makes it traceable and once-only.</summary>
    public static byte[] Body(long id, string kind) => Encoding.UTF8.GetBytes(string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"kind":"{{kind}}","file_id":{{100_000 + id}},"directory_id":7,"input_id":{{101_000 + id}},"idempotency_key":"{{KeyPrefix}}{{id}}"}"""));

    /// <summary>Closed loop: one request in flight per connection.</summary>
    public async Task SendAllAsync(EventBatch batch)
    {
        var bodies = Bodies(batch);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, _connections).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batch.Count)
            {
                await Send(batch, bodies, i, record: false);
            }
        })));
    }

    public async Task SendPacedAsync(EventBatch batch, double perSecond)
    {
        var bodies = Bodies(batch);
        lock (_acceptMs)
        {
            _acceptMs.Clear();
        }

        await Paced.PublishAsync(batch.Count, perSecond, i => Send(batch, bodies, i, record: true));
        double[] sorted;
        lock (_acceptMs)
        {
            sorted = [.. _acceptMs.Order()];
        }

        if (sorted.Length > 0)
        {
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            Progress.Write(string.Create(CultureInfo.InvariantCulture, $"request → 202 over {sorted.Length} requests: p50 {At(0.50):F2} ms, p99 {At(0.99):F2} ms, max {sorted[^1]:F2} ms"));
        }
    }

    private static byte[][] Bodies(EventBatch batch) =>
        [.. Enumerable.Range(0, batch.Count).Select(i => Body(batch.FirstId + i, batch.Targets[i].Kind))];

    private async Task Send(EventBatch batch, byte[][] bodies, int index, bool record)
    {
        var (path, auth) = _projects[batch.Targets[index].ProjectId];
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(bodies[index]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Authorization = auth;
        batch.SentTicks[index] = DateTime.UtcNow.Ticks;
        var sent = Stopwatch.GetTimestamp();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        var elapsed = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"event {batch.FirstId + index}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        if (record)
        {
            lock (_acceptMs)
            {
                _acceptMs.Add(elapsed);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
