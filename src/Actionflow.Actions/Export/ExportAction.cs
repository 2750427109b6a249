using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Export;

/// <summary>
/// Diffgram's <c>export</c>: asks a Diffgram instance's REST API to generate an export of a dataset, task template or
/// task (<c>POST /api/walrus/project/{project}/export/to_file</c>), waits until Diffgram reports it complete
/// (<c>GET .../export/{id}/status</c>), and completes with <c>export_generate_success</c>, as Diffgram's template
/// declares. The wait is an await between status checks: no thread is held, the run keeps its lease. Once the export
/// is started, failures to check are waited out rather than retried as a new run, which would start a second export.
/// </summary>
[ActionTemplate(KindName, "JSON Export", "Generate JSON Export", Category = "diffgram",
    Triggers = [EventKinds.TaskCompleted, EventKinds.InputFileUploaded, EventKinds.ActionCompleted, EventKinds.TimeTrigger, EventKinds.ManualTrigger],
    CompletionEvents = [EventKinds.ExportGenerateSuccess])]
public sealed class ExportAction(OutboundHttp outbound, IOptions<WebhookOptions> webhookOptions, TimeProvider timeProvider) : ActionRunner<ExportConfig>
{
    public const string KindName = "export";

    public override IEnumerable<ConfigProblem> ValidateConfig(ExportConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.IsNullOrWhiteSpace(config.DiffgramUrl) && !config.DiffgramUrl.Contains("secrets.", StringComparison.Ordinal)
            && OutboundUrl.Problem(config.DiffgramUrl.Trim(), webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            yield return new ConfigProblem("diffgram_url", urlProblem);
        }

        if (!string.IsNullOrWhiteSpace(config.ProjectStringId) && !config.ProjectStringId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            yield return new ConfigProblem("project_string_id", "must be letters, digits, - and _ (a Diffgram project string id)");
        }

        if (config.Source == "job" && config.TaskTemplateId is null)
        {
            yield return new ConfigProblem("task_template_id", "is required when source is job");
        }

        if (!string.IsNullOrEmpty(config.ClientSecret) && string.IsNullOrWhiteSpace(config.ClientId))
        {
            yield return new ConfigProblem("client_id", "is required when a client_secret is given");
        }
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<ExportConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } invalid)
        {
            return ActionResult.Failure($"{invalid.Field} {invalid.Message}");
        }

        var baseUrl = ApiCall.Combine(config.DiffgramUrl.Trim(), $"api/walrus/project/{config.ProjectStringId}/export");
        if (OutboundUrl.Problem(baseUrl, webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            return ActionResult.Failure($"diffgram_url {urlProblem}");
        }

        var directoryId = config.DirectoryId ?? context.Event.DirectoryId;
        var taskId = config.TaskId ?? context.Event.TaskId;
        switch (config.Source)
        {
            case "directory" when directoryId is null:
                return ActionResult.Failure("directory_id is not in the config and the event has none: which dataset to export?");
            case "task" when taskId is null:
                return ActionResult.Failure("task_id is not in the config and the event has none: which task to export?");
        }

        var output = new JsonObject
        {
            ["source"] = config.Source, ["kind"] = config.Kind, ["directory_id"] = directoryId, ["job_id"] = config.TaskTemplateId, ["task_id"] = taskId,
        };
        var startUri = new Uri(baseUrl + "/to_file");
        using var start = Request(HttpMethod.Post, startUri, config, new JsonObject
        {
            ["kind"] = config.Kind,
            ["source"] = config.Source,
            ["file_comparison_mode"] = "latest",
            ["masks"] = false,
            ["directory_id"] = directoryId,
            ["job_id"] = config.TaskTemplateId,
            ["task_id"] = taskId,
            ["ann_is_complete"] = config.AnnIsComplete,
            ["wait_for_export_generation"] = false,
        });
        var started = await outbound.SendAsync(start, TimeSpan.FromSeconds(config.TimeoutSeconds), 256 * 1024, cancellationToken);
        var startUrl = SafeUrl.Display(startUri);
        if (started.NoAnswerResult(startUrl, config.TimeoutSeconds, output: output) is { } noAnswer)
        {
            ExportLog.NotStarted(context.Logger, context.Action.Id, context.Run.Id, startUri.IdnHost, started.Outcome, 0);
            return noAnswer;
        }

        var startedExport = started.IsSuccessStatus ? ApiCall.Member(started.Body, "export") as JsonObject : null;
        if (startedExport is null || ApiCall.Number(startedExport["id"]) is not { } idNumber)
        {
            ExportLog.NotStarted(context.Logger, context.Action.Id, context.Run.Id, startUri.IdnHost, started.Outcome, started.StatusCode);
            output["status_code"] = started.StatusCode;
            return started.IsSuccessStatus
                ? ActionResult.Failure($"the answer from {startUrl} names no export", output)
                : ApiCall.Failed(started, startUrl, output, DiffgramErrors(started.Body));
        }

        var exportId = (long)idNumber;
        output["export_id"] = exportId;
        ExportLog.Started(context.Logger, context.Action.Id, context.Run.Id, startUri.IdnHost, exportId);
        return await WaitAsync(context, config, new Uri($"{baseUrl}/{exportId}/status"), exportId, startedExport, output, cancellationToken);
    }

    private async Task<ActionResult> WaitAsync(
        ActionContext context, ExportConfig config, Uri statusUri, long exportId, JsonObject export, JsonObject output, CancellationToken cancellationToken)
    {
        var statusUrl = SafeUrl.Display(statusUri);
        var deadline = timeProvider.GetUtcNow().AddSeconds(config.WaitTimeoutSeconds);
        var poll = TimeSpan.FromSeconds(config.PollIntervalSeconds);
        string? lastProblem = null;
        while (true)
        {
            output["status"] = export["status"]?.DeepClone();
            output["percent_complete"] = export["percent_complete"]?.DeepClone();
            switch (ApiCall.Text(export["status"]))
            {
                case "complete":
                    output["export"] = export.DeepClone();
                    ExportLog.Ended(context.Logger, context.Action.Id, context.Run.Id, exportId, "complete");
                    return ActionResult.Completed(EventKinds.ExportGenerateSuccess, output);
                case "failed":
                    output["export"] = export.DeepClone();
                    ExportLog.Ended(context.Logger, context.Action.Id, context.Run.Id, exportId, "failed");
                    return ActionResult.Failure($"Diffgram failed to generate export {exportId}: {ApiCall.Text(export["status_text"]) ?? "no reason given"}", output);
            }

            var wait = poll;
            var now = timeProvider.GetUtcNow();
            if (now >= deadline)
            {
                // Not retryable: a new attempt would start a second export beside this one.
                return ActionResult.Failure(
                    $"export {exportId} was not generated within {config.WaitTimeoutSeconds}s (last status: {ApiCall.Text(export["status"]) ?? "unknown"}{(lastProblem is null ? "" : "; last check: " + lastProblem)})",
                    output);
            }

            await Task.Delay(Min(wait, deadline - now), timeProvider, cancellationToken);
            using var request = Request(HttpMethod.Get, statusUri, config, null);
            var check = await outbound.SendAsync(request, TimeSpan.FromSeconds(config.TimeoutSeconds), 256 * 1024, cancellationToken);
            if (check.Outcome == OutboundOutcome.Answered && check.IsSuccessStatus && ApiCall.Member(check.Body, "export") is JsonObject current)
            {
                export = current;
                lastProblem = null;
                continue;
            }

            if (check.Outcome == OutboundOutcome.Answered && !OutboundAttempt.IsRetryableStatus(check.StatusCode) && !check.IsSuccessStatus)
            {
                output["status_code"] = check.StatusCode;
                return ApiCall.Failed(check, statusUrl, output, DiffgramErrors(check.Body));
            }

            // Rate limited, unavailable or unanswered: the export goes on at Diffgram; check again (not before Retry-After).
            lastProblem = check.Outcome == OutboundOutcome.Answered ? check.StatusMessage(statusUrl) : check.Outcome.ToString().ToLowerInvariant();
            if (check.RetryAfter is { } retryAfter && retryAfter > poll)
            {
                await Task.Delay(Min(retryAfter - poll, Max(deadline - timeProvider.GetUtcNow(), TimeSpan.Zero)), timeProvider, cancellationToken);
            }
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri uri, ExportConfig config, JsonObject? body)
    {
        var request = ApiCall.Json(method, uri, body);
        if (!string.IsNullOrWhiteSpace(config.ClientId))
        {
            // Diffgram's API clients authenticate with HTTP Basic (client id, client secret).
            var pair = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{config.ClientId.Trim()}:{config.ClientSecret}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", pair);
        }

        return request;
    }

    /// <summary>Diffgram's error log (<c>{"log": {"error": {"directory": "Invalid directory"}}}</c>) as one line.</summary>
    private static string? DiffgramErrors(JsonNode? body) =>
        ApiCall.Member(ApiCall.Member(body, "log"), "error") is JsonObject { Count: > 0 } errors
            ? string.Join("; ", errors.Select(e => $"{e.Key}: {ApiCall.Text(e.Value)}"))
            : body is JsonValue ? ApiCall.Text(body) : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
