using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Webhook;

/// <summary>
/// POSTs the triggering event to a URL, signed the Standard Webhooks way. Unlike Diffgram's Webhook, the event is
/// sent untouched, any 2xx is success, there is a timeout, the secret never travels in the body or the output, and
/// the server's own networks are out of reach.
/// </summary>
[ActionTemplate(KindName, "Webhook", "Sends a signed POST request with the event to a URL. Any 2xx response is success.", Category = "integration",
    Triggers =
    [
        EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart, EventKinds.TaskRequestChanges,
        EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated, EventKinds.TaskTemplateCompleted, EventKinds.FileCopy,
        EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ActionCompleted, EventKinds.TimeTrigger,
    ])]
public sealed class WebhookAction(OutboundHttp outbound, TimeProvider timeProvider, IOptions<WebhookOptions> options) : ActionRunner<WebhookConfig>
{
    public const string KindName = "Webhook";
    public const string HttpClientName = "actionflow-webhook";
    public const int MaxResponseBytes = 4096;

    public override IEnumerable<ConfigProblem> ValidateConfig(WebhookConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return WebhookConfigRules.Check(config, options.Value.AllowPrivateNetworks);
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<WebhookConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        var actionId = context.Action.Id;
        var runId = context.Run.Id;

        var invalid = Validate(config, out var uri, out var key);
        if (invalid is not null)
        {
            WebhookLog.InvalidConfig(context.Logger, actionId, runId);
            return ActionResult.Failure(invalid);
        }

        var url = SafeUrl.Display(uri!);
        var host = uri!.IdnHost;
        var body = SerializeBody(context);
        using var request = CreateRequest(uri, body, $"run_{runId}", key, config.Headers, out var refusedHeader);
        if (refusedHeader is not null)
        {
            WebhookLog.InvalidConfig(context.Logger, actionId, runId);
            return ActionResult.Failure($"header '{refusedHeader}' is refused by the HTTP client", new JsonObject { ["url"] = url });
        }

        var attempt = await outbound.SendAsync(request, TimeSpan.FromSeconds(config.TimeoutSeconds), MaxResponseBytes, cancellationToken, HttpClientName);
        switch (attempt.Outcome)
        {
            case OutboundOutcome.TimedOut:
                WebhookLog.TimedOut(context.Logger, actionId, runId, host, config.TimeoutSeconds);
                break;
            case OutboundOutcome.Refused:
                WebhookLog.Refused(context.Logger, actionId, runId, host, attempt.RefusedBlock!.ToString());
                break;
            case OutboundOutcome.Unreachable:
                WebhookLog.Unreachable(context.Logger, actionId, runId, host, attempt.Error!);
                break;
        }

        if (attempt.NoAnswerResult(url, config.TimeoutSeconds, "webhooks") is { } noAnswer)
        {
            return noAnswer;
        }

        var output = new JsonObject
        {
            ["status_code"] = attempt.StatusCode,
            ["url"] = url,
            ["response"] = attempt.Body,
            ["response_truncated"] = attempt.Truncated,
        };
        if (attempt.IsSuccessStatus)
        {
            WebhookLog.Delivered(context.Logger, actionId, runId, host, attempt.StatusCode, attempt.ElapsedMs);
            return ActionResult.Success(output);
        }

        WebhookLog.Rejected(context.Logger, actionId, runId, host, attempt.StatusCode);
        return attempt.FailedStatusResult(url, output);
    }

    private string? Validate(WebhookConfig config, out Uri? uri, out byte[]? key)
    {
        uri = null;
        key = null;
        if (string.IsNullOrWhiteSpace(config.Url))
        {
            return "url is required: the absolute http or https URL to POST the event to";
        }

        // The rules the API applied at save: a config saved before them, or written to the database directly, fails
        // here finally (no retry can fix it).
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } problem)
        {
            return WebhookConfigRules.Describe(problem);
        }

        uri = new Uri(config.Url.Trim(), UriKind.Absolute);
        key = string.IsNullOrEmpty(config.Secret) ? null : WebhookSignature.DecodeKey(config.Secret);
        return null;
    }

    private static byte[] SerializeBody(ActionContext<WebhookConfig> context)
    {
        // The triggering event is sent as it came: Diffgram overwrote its action_id with the webhook's own.
        var body = new JsonObject
        {
            ["event"] = context.Event.Payload.DeepClone(),
            ["workflow_id"] = context.Action.WorkflowId,
            ["action_id"] = context.Action.Id,
            ["action_run_id"] = context.Run.Id,
        };
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            body.WriteTo(writer);
        }

        return stream.ToArray();
    }

    private HttpRequestMessage CreateRequest(Uri uri, byte[] body, string webhookId, byte[]? key, Dictionary<string, string>? headers, out string? refusedHeader)
    {
        refusedHeader = null;
        var timestamp = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };

        foreach (var (name, value) in headers ?? [])
        {
            if (!request.Headers.TryAddWithoutValidation(name, value) && !request.Content.Headers.TryAddWithoutValidation(name, value))
            {
                refusedHeader ??= name;
            }
        }

        request.Headers.TryAddWithoutValidation(WebhookSignature.IdHeader, webhookId);
        request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(key, webhookId, timestamp, body));
        }

        return request;
    }
}
