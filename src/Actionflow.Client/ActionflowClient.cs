using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Actionflow.Client;

/// <summary>
/// Actionflow's HTTP API, typed. One instance per set of credentials; the <see cref="HttpClient"/> passed in has the
/// server's address as <see cref="HttpClient.BaseAddress"/>. Errors become <see cref="ActionflowApiException"/>.
/// </summary>
public sealed class ActionflowClient
{
    /// <summary>The JSON conventions of the API: snake_case names, enums as snake_case strings.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private readonly HttpClient _http;

    /// <summary>A client signing every request with <paramref name="credentials"/>.</summary>
    public ActionflowClient(HttpClient http, ActionflowCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        Credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
    }

    /// <summary>The credentials this client sends.</summary>
    public ActionflowCredentials Credentials { get; }

    /// <summary>What these credentials are; throws with 401 when they are wrong, expired or revoked.</summary>
    public Task<WhoAmI> WhoAmIAsync(CancellationToken cancellationToken = default) => GetAsync<WhoAmI>("api/v1/whoami", cancellationToken);

    /// <summary>Every project (installation admin only).</summary>
    public async Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync<ProjectListEnvelope>("api/v1/projects", cancellationToken)).ProjectList;

    /// <summary>Creates a project (installation admin only).</summary>
    public async Task<Project> CreateProjectAsync(string stringId, string? name, CancellationToken cancellationToken = default) =>
        (await SendAsync<ProjectEnvelope>(HttpMethod.Post, "api/v1/projects", new { string_id = stringId, name }, cancellationToken)).Project;

    /// <summary>The project's workflows with their last run; <paramref name="state"/>: all, active, inactive or archived.</summary>
    public async Task<IReadOnlyList<WorkflowSummary>> ListWorkflowsAsync(string project, string state = "all", CancellationToken cancellationToken = default) =>
        (await GetAsync<WorkflowListEnvelope>(P(project, $"workflows?state={Uri.EscapeDataString(state)}"), cancellationToken)).WorkflowList;

    /// <summary>A workflow with its steps.</summary>
    public async Task<Workflow> GetWorkflowAsync(string project, long workflowId, CancellationToken cancellationToken = default) =>
        (await GetAsync<WorkflowEnvelope>(P(project, $"workflow/{workflowId}"), cancellationToken)).Workflow;

    /// <summary>Creates an inactive workflow.</summary>
    public async Task<Workflow> CreateWorkflowAsync(string project, string name, CancellationToken cancellationToken = default) =>
        (await SendAsync<WorkflowEnvelope>(HttpMethod.Post, P(project, "actions/workflow/new"), new { name }, cancellationToken)).Workflow;

    /// <summary>Renames, activates or deactivates a workflow (null keeps a value).</summary>
    public async Task<Workflow> UpdateWorkflowAsync(string project, long workflowId, string? name = null, bool? active = null, CancellationToken cancellationToken = default) =>
        (await SendAsync<WorkflowEnvelope>(HttpMethod.Put, P(project, "actions/workflow/update"), new { workflow_id = workflowId, name, active, mode = "UPDATE" }, cancellationToken)).Workflow;

    /// <summary>Archives a workflow.</summary>
    public async Task<Workflow> ArchiveWorkflowAsync(string project, long workflowId, CancellationToken cancellationToken = default) =>
        (await SendAsync<WorkflowEnvelope>(HttpMethod.Put, P(project, "actions/workflow/update"), new { workflow_id = workflowId, mode = "ARCHIVE" }, cancellationToken)).Workflow;

    /// <summary>The action templates a step can be made from.</summary>
    public async Task<IReadOnlyList<ActionTemplate>> ListTemplatesAsync(string project, CancellationToken cancellationToken = default) =>
        (await GetAsync<TemplateListEnvelope>(P(project, "action-template/list"), cancellationToken)).ActionTemplateList;

    /// <summary>Adds a step of <paramref name="kind"/> at the end of the workflow; it is triggered by <paramref name="triggerEvent"/> or the template's default.</summary>
    public async Task<WorkflowStep> AddStepAsync(string project, long workflowId, string kind, string? triggerEvent = null, CancellationToken cancellationToken = default) =>
        (await SendAsync<StepEnvelope>(HttpMethod.Post, P(project, $"actions/workflow/{workflowId}/action"),
            new { kind, trigger_data = triggerEvent is null ? null : new JsonObject { ["event_name"] = triggerEvent } }, cancellationToken)).Action;

    /// <summary>Changes a step; fields left null keep their values; a secret sent back as <c>********</c> keeps the stored one.</summary>
    public async Task<WorkflowStep> UpdateStepAsync(string project, long stepId, StepChanges changes, CancellationToken cancellationToken = default) =>
        (await SendAsync<StepEnvelope>(HttpMethod.Put, P(project, $"actions/{stepId}"), changes, cancellationToken)).Action;

    /// <summary>
    /// The next <paramref name="count"/> fire times of a trigger (<c>{"cron_expression": ..., "time_zone": ...}</c>),
    /// saved or not; an invalid expression or zone throws with the field named (<c>trigger_data.cron_expression</c>).
    /// </summary>
    public Task<SchedulePreview> PreviewScheduleAsync(string project, JsonObject triggerData, int count = 5, CancellationToken cancellationToken = default) =>
        SendAsync<SchedulePreview>(HttpMethod.Post, P(project, "actions/schedule/preview"), new { trigger_data = triggerData, count }, cancellationToken);

    /// <summary>Runs found by <paramref name="query"/>, newest first, one page.</summary>
    public Task<WorkflowRunPage> SearchRunsAsync(string project, RunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var q = Query(
            ("workflow_id", query.WorkflowId?.ToString(CultureInfo.InvariantCulture)), ("status", query.Status),
            ("event_id", query.EventId?.ToString(CultureInfo.InvariantCulture)), ("file_id", query.FileId?.ToString(CultureInfo.InvariantCulture)),
            ("from", query.From?.ToString("O", CultureInfo.InvariantCulture)), ("to", query.To?.ToString("O", CultureInfo.InvariantCulture)),
            ("page", query.Page.ToString(CultureInfo.InvariantCulture)), ("page_size", query.PageSize.ToString(CultureInfo.InvariantCulture)));
        return GetAsync<WorkflowRunPage>(P(project, "workflow-runs" + q), cancellationToken);
    }

    /// <summary>Runs started per hour or day, by status.</summary>
    public Task<RunCounts> CountRunsAsync(string project, long? workflowId, DateTimeOffset? from, DateTimeOffset? to, string bucket = "hour", CancellationToken cancellationToken = default) =>
        GetAsync<RunCounts>(P(project, "workflow-runs/counts" + Query(
            ("workflow_id", workflowId?.ToString(CultureInfo.InvariantCulture)), ("from", from?.ToString("O", CultureInfo.InvariantCulture)),
            ("to", to?.ToString("O", CultureInfo.InvariantCulture)), ("bucket", bucket))), cancellationToken);

    /// <summary>A workflow run with each step's attempts.</summary>
    public async Task<WorkflowRun> GetRunAsync(string project, long workflowRunId, CancellationToken cancellationToken = default) =>
        (await GetAsync<RunEnvelope>(P(project, $"workflow-runs/{workflowRunId}"), cancellationToken)).WorkflowRun;

    /// <summary>Runs the failed steps of a failed run again.</summary>
    public async Task<WorkflowRun> RetryRunAsync(string project, long workflowRunId, CancellationToken cancellationToken = default) =>
        (await SendAsync<RunEnvelope>(HttpMethod.Post, P(project, $"workflow-runs/{workflowRunId}/retry"), null, cancellationToken)).WorkflowRun;

    /// <summary>
    /// Runs a step of an ended workflow run again, and the steps after it, as a new attempt of that workflow run; with
    /// <paramref name="input"/>, on that input (the event's <c>extra_metadata</c>) instead of the one it had.
    /// </summary>
    public Task<RerunStarted> RerunFromAsync(string project, long workflowRunId, long fromActionId, JsonObject? input = null, CancellationToken cancellationToken = default) =>
        SendAsync<RerunStarted>(HttpMethod.Post, P(project, $"workflow-runs/{workflowRunId}/rerun"), new { from_action_id = fromActionId, input }, cancellationToken);

    /// <summary>Cancels a run.</summary>
    public async Task<WorkflowRun> CancelRunAsync(string project, long workflowRunId, CancellationToken cancellationToken = default) =>
        (await SendAsync<RunEnvelope>(HttpMethod.Post, P(project, $"workflow-runs/{workflowRunId}/cancel"), null, cancellationToken)).WorkflowRun;

    /// <summary>
    /// Run changes as they happen (server-sent events), until <paramref name="cancellationToken"/> is canceled or the
    /// server closes the stream. Scope: one run (every step change), one workflow, or the whole project. The first
    /// item is null: the subscription is in place, so a reload after it misses nothing.
    /// </summary>
    public async IAsyncEnumerable<WorkflowRun?> StreamRunsAsync(string project, long? workflowId = null, long? workflowRunId = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Get, P(project, "workflow-runs/stream" + Query(
            ("workflow_id", workflowId?.ToString(CultureInfo.InvariantCulture)), ("workflow_run_id", workflowRunId?.ToString(CultureInfo.InvariantCulture)))), null);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var parser = SseParser.Create(stream, (type, data) => type == "workflow_run" ? JsonSerializer.Deserialize<WorkflowRun>(data, Json) : null);
        await foreach (var item in parser.EnumerateAsync(cancellationToken))
        {
            if (item.EventType == "ready")
            {
                yield return null;
            }
            else if (item.EventType == "workflow_run" && item.Data is not null)
            {
                yield return item.Data;
            }
        }
    }

    /// <summary>Events, newest first, optionally of one kind.</summary>
    public async Task<IReadOnlyList<Event>> ListEventsAsync(string project, string? kind = null, int page = 0, int pageSize = 50, CancellationToken cancellationToken = default) =>
        (await GetAsync<EventListEnvelope>(P(project, "events" + Query(("kind", kind), ("page", page.ToString(CultureInfo.InvariantCulture)),
            ("page_size", pageSize.ToString(CultureInfo.InvariantCulture)))), cancellationToken)).EventList;

    /// <summary>One event.</summary>
    public async Task<Event> GetEventAsync(string project, long eventId, CancellationToken cancellationToken = default) =>
        (await GetAsync<EventEnvelope>(P(project, $"events/{eventId}"), cancellationToken)).Event;

    /// <summary>Emits an event; it is recorded, with the steps it starts, before this returns.</summary>
    public Task<EventAccepted> EmitEventAsync(string project, NewEvent newEvent, CancellationToken cancellationToken = default) =>
        SendAsync<EventAccepted>(HttpMethod.Post, P(project, "events"), newEvent, cancellationToken);

    /// <summary>The project's dead letters, newest first.</summary>
    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string project, int page = 0, int pageSize = 50, CancellationToken cancellationToken = default) =>
        (await GetAsync<DeadLetterListEnvelope>(P(project, "dead-letters" + Query(("page", page.ToString(CultureInfo.InvariantCulture)),
            ("page_size", pageSize.ToString(CultureInfo.InvariantCulture)))), cancellationToken)).DeadLetterList;

    /// <summary>Puts a dead letter back on its queue (a failed run is reopened).</summary>
    public Task<DeadLetterReplayed> ReplayDeadLetterAsync(string project, long deadLetterId, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetterReplayed>(HttpMethod.Post, P(project, $"dead-letters/{deadLetterId}/replay"), null, cancellationToken);

    /// <summary>Every dead letter of the installation, newest first, including those that name no usable project (admin token).</summary>
    public async Task<IReadOnlyList<DeadLetter>> ListInstallationDeadLettersAsync(int page = 0, int pageSize = 50, CancellationToken cancellationToken = default) =>
        (await GetAsync<DeadLetterListEnvelope>("api/v1/dead-letters" + Query(("page", page.ToString(CultureInfo.InvariantCulture)),
            ("page_size", pageSize.ToString(CultureInfo.InvariantCulture))), cancellationToken)).DeadLetterList;

    /// <summary>Puts any dead letter of the installation back on its queue (admin token).</summary>
    public Task<DeadLetterReplayed> ReplayInstallationDeadLetterAsync(long deadLetterId, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetterReplayed>(HttpMethod.Post, $"api/v1/dead-letters/{deadLetterId}/replay", null, cancellationToken);

    /// <summary>Deletes a dead letter for good (admin token).</summary>
    public async Task DiscardDeadLetterAsync(long deadLetterId, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Delete, $"api/v1/dead-letters/{deadLetterId}", null);
        using var response = await _http.SendAsync(request, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
    }

    /// <summary>The project's API keys.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string project, CancellationToken cancellationToken = default) =>
        (await GetAsync<ApiKeyListEnvelope>(P(project, "api-keys"), cancellationToken)).ApiKeyList;

    /// <summary>Creates an API key; its secret is in this answer only.</summary>
    public Task<ApiKeyCreated> CreateApiKeyAsync(string project, string role, CancellationToken cancellationToken = default) =>
        SendAsync<ApiKeyCreated>(HttpMethod.Post, P(project, "api-keys"), new { role }, cancellationToken);

    /// <summary>Revokes an API key at once.</summary>
    public async Task RevokeApiKeyAsync(string project, string clientId, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Delete, P(project, $"api-keys/{Uri.EscapeDataString(clientId)}"), null);
        using var response = await _http.SendAsync(request, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
    }

    /// <summary>The project's secrets: names and metadata, never values (editor or admin).</summary>
    public async Task<IReadOnlyList<SecretInfo>> ListSecretsAsync(string project, CancellationToken cancellationToken = default) =>
        (await GetAsync<SecretListEnvelope>(P(project, "secrets"), cancellationToken)).SecretList;

    /// <summary>Creates a secret or replaces its value; the answer carries its metadata only.</summary>
    public async Task<SecretInfo> SetSecretAsync(string project, string name, string value, string? description = null, CancellationToken cancellationToken = default) =>
        (await SendAsync<SecretEnvelope>(HttpMethod.Post, P(project, "secrets"), new { name, value, description }, cancellationToken)).Secret;

    /// <summary>Deletes a secret; steps that refer to it fail until it is set again.</summary>
    public async Task DeleteSecretAsync(string project, string name, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Delete, P(project, $"secrets/{Uri.EscapeDataString(name)}"), null);
        using var response = await _http.SendAsync(request, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
    }

    /// <summary>Sends a request as the console would, for a path under the server, and returns the raw answer (for checks of authorization).</summary>
    public async Task<HttpStatusCode> SendRawAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken = default)
    {
        using var request = Request(method, path, body);
        using var response = await _http.SendAsync(request, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
        return response.StatusCode;
    }

    private static string P(string project, string route) => $"api/v1/project/{Uri.EscapeDataString(project)}/{route}";

    private static string Query(params (string Name, string? Value)[] parts)
    {
        var present = parts.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }

    private HttpRequestMessage Request(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = Credentials.ToHeader();
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        else if (method == HttpMethod.Post || method == HttpMethod.Put)
        {
            request.Content = JsonContent.Create(new JsonObject(), options: Json);
        }

        return request;
    }

    private Task<T> GetAsync<T>(string path, CancellationToken cancellationToken) => SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = Request(method, path, body);
        using var response = await _http.SendAsync(request, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new ActionflowApiException($"{(int)response.StatusCode}: the answer to {method} {path} had no body");
    }

    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        Problem? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync<Problem>(Json, cancellationToken);
        }
        catch (JsonException)
        {
        }
        catch (NotSupportedException)
        {
        }

        throw new ActionflowApiException(response.StatusCode, problem?.Title ?? response.ReasonPhrase, problem?.Detail, problem?.Errors);
    }

    private sealed record Problem(string? Title, string? Detail, int? Status, Dictionary<string, string[]>? Errors);
}
