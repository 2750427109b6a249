using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>One HTTP answer: status, parsed JSON body (if any), headers.</summary>
public sealed record ApiResponse(HttpStatusCode Status, JsonNode? Body, string Raw, HttpResponseHeaders Headers, string? ContentType)
{
    public JsonObject Json => Body as JsonObject ?? throw new InvalidOperationException($"expected a JSON object, got {(int)Status}: {Raw}");

    public override string ToString() => $"{(int)Status} {Raw}";
}

/// <summary>Talks to a running actionflow over real HTTP with one set of credentials; keeps every answer for later scans.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly List<string> _transcript = [];

    public ApiClient(Uri baseAddress, AuthenticationHeaderValue? authorization)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = authorization;
    }

    /// <summary>Every response body this client received.</summary>
    public IReadOnlyList<string> Transcript => _transcript;

    public static ApiClient Admin(ActionflowProcess host) => Bearer(host, Pipeline.AdminToken);

    public static ApiClient Bearer(ActionflowProcess host, string token) => new(host.BaseAddress, new AuthenticationHeaderValue("Bearer", token));

    public static ApiClient Basic(ActionflowProcess host, string clientId, string secret) =>
        new(host.BaseAddress, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}"))));

    public static ApiClient Anonymous(ActionflowProcess host) => new(host.BaseAddress, null);

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<ApiResponse> PostAsync(string path, JsonNode? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<ApiResponse> PutAsync(string path, JsonNode? body = null) => SendAsync(HttpMethod.Put, path, body);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public Task<ApiResponse> SendAsync(HttpMethod method, string path, JsonNode? body) =>
        SendRawAsync(method, path, body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

    public async Task<ApiResponse> SendRawAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/')) { Content = content };
        using var response = await _http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        lock (_transcript)
        {
            _transcript.Add(raw);
        }

        JsonNode? json = null;
        if (raw.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(raw);
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return new ApiResponse(response.StatusCode, json, raw, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A project with a key of each role, made through the API with the admin token, as a new user would.</summary>
public sealed class TestProject : IDisposable
{
    private TestProject(string stringId, long id, ApiClient admin, ApiClient editor, ApiClient viewer, IReadOnlyDictionary<string, (string ClientId, string Secret)> keys)
    {
        StringId = stringId;
        Id = id;
        Admin = admin;
        Editor = editor;
        Viewer = viewer;
        Keys = keys;
    }

    public string StringId { get; }

    public long Id { get; }

    public ApiClient Admin { get; }

    public ApiClient Editor { get; }

    public ApiClient Viewer { get; }

    public IReadOnlyDictionary<string, (string ClientId, string Secret)> Keys { get; }

    /// <summary>The path of a project route: <c>api/v1/project/{string_id}/{route}</c>.</summary>
    public string P(string route) => $"api/v1/project/{StringId}/{route}";

    public static async Task<TestProject> CreateAsync(ActionflowProcess host, string? stringId = null)
    {
        stringId ??= "p-" + Guid.NewGuid().ToString("N")[..10];
        using var installation = ApiClient.Admin(host);
        var created = await installation.PostAsync("api/v1/projects", new JsonObject { ["string_id"] = stringId, ["name"] = "Project " + stringId });
        Assert.True(created.Status == HttpStatusCode.Created, created.ToString());
        var keys = new Dictionary<string, (string, string)>();
        foreach (var role in (string[])["admin", "editor", "viewer"])
        {
            var key = await installation.PostAsync($"api/v1/project/{stringId}/api-keys", new JsonObject { ["role"] = role });
            Assert.True(key.Status == HttpStatusCode.Created, key.ToString());
            keys[role] = ((string)key.Json["client_id"]!, (string)key.Json["client_secret"]!);
        }

        return new TestProject(stringId, (long)created.Json["project"]!["id"]!,
            ApiClient.Basic(host, keys["admin"].Item1, keys["admin"].Item2),
            ApiClient.Basic(host, keys["editor"].Item1, keys["editor"].Item2),
            ApiClient.Basic(host, keys["viewer"].Item1, keys["viewer"].Item2),
            keys);
    }

    public void Dispose()
    {
        Admin.Dispose();
        Editor.Dispose();
        Viewer.Dispose();
    }
}

/// <summary>One actionflow process (PostgreSQL + RabbitMQ) shared by the tests of a class; each test makes its own projects.</summary>
public sealed class ApiHostFixture : IAsyncLifetime
{
    private readonly Dictionary<string, Task<object>> _shared = new(StringComparer.Ordinal);
    private Pipeline? _pipeline;

    public Pipeline Pipeline => _pipeline ?? throw new InvalidOperationException("not started");

    public ActionflowProcess Host { get; private set; } = null!;

    /// <summary>Setup made once for the whole class (e.g. a project with workflows that many theory cases read).</summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create)
        where T : class
    {
        Task<object> task;
        lock (_shared)
        {
            if (!_shared.TryGetValue(key, out task!))
            {
                _shared[key] = task = Create();
            }
        }

        return (T)await task;

        async Task<object> Create() => await create();
    }

    public async Task InitializeAsync()
    {
        _pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        Host = await _pipeline.StartWorkerAsync();
    }

    public async Task DisposeAsync()
    {
        // Shared setup that owns processes of its own (another host with other settings) goes with the fixture.
        foreach (var shared in _shared.Values.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).OfType<IAsyncDisposable>())
        {
            await shared.DisposeAsync();
        }

        if (_pipeline is not null)
        {
            await _pipeline.DisposeAsync();
        }
    }
}

public static class ApiAssert
{
    /// <summary>A problem details answer with this status, naming <paramref name="field"/> in its errors map when given.</summary>
    public static void Problem(ApiResponse response, HttpStatusCode status, string? field = null)
    {
        Assert.True(response.Status == status, $"expected {(int)status}, got {response}");
        Assert.Equal("application/problem+json", response.ContentType);
        Assert.Equal((int)status, (int?)response.Json["status"]);
        if (field is not null)
        {
            var errors = response.Json["errors"] as JsonObject;
            Assert.True(errors is not null && errors.ContainsKey(field), $"expected an error for '{field}': {response.Raw}");
        }
    }

    public static void Ok(ApiResponse response, HttpStatusCode status = HttpStatusCode.OK) =>
        Assert.True(response.Status == status, $"expected {(int)status}, got {response}");

    /// <summary>Polls a workflow run through the API until <paramref name="done"/> holds.</summary>
    public static async Task<JsonObject> EventuallyAsync(Func<Task<JsonObject?>> read, Func<JsonObject, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonObject? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await read();
            if (last is not null && done(last))
            {
                return last;
            }

            await Task.Delay(150);
        }

        throw new Xunit.Sdk.XunitException($"{what} did not happen within {timeout}; last: {last?.ToJsonString()}");
    }
}
