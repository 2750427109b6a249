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
public sealed class WebhookAction(IHttpClientFactory httpClientFactory, TimeProvider timeProvider, IOptions<WebhookOptions> options) : ActionRunner<WebhookConfig>
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

        var started = timeProvider.GetTimestamp();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(config.TimeoutSeconds), timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var client = httpClientFactory.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var (responseBody, truncated) = await ReadCappedAsync(response.Content, linked.Token);
            var statusCode = (int)response.StatusCode;
            var output = new JsonObject
            {
                ["status_code"] = statusCode,
                ["url"] = url,
                ["response"] = responseBody,
                ["response_truncated"] = truncated,
            };

            if (response.IsSuccessStatusCode)
            {
                var elapsedMs = (long)timeProvider.GetElapsedTime(started).TotalMilliseconds;
                WebhookLog.Delivered(context.Logger, actionId, runId, host, statusCode, elapsedMs);
                return ActionResult.Success(output);
            }

            WebhookLog.Rejected(context.Logger, actionId, runId, host, statusCode);
            var reason = string.IsNullOrEmpty(response.ReasonPhrase) ? response.StatusCode.ToString() : response.ReasonPhrase;
            var message = $"HTTP {statusCode} {reason} from {url}";
            // 5xx, 429 and 408 may pass later; other 4xx say the request itself is wrong.
            return statusCode >= 500 || statusCode is 429 or 408
                ? ActionResult.RetryableFailure(message, RetryAfter(response), output)
                : ActionResult.Failure(message, output);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            WebhookLog.TimedOut(context.Logger, actionId, runId, host, config.TimeoutSeconds);
            return ActionResult.RetryableFailure($"timed out after {config.TimeoutSeconds}s waiting for {url}", null, new JsonObject { ["url"] = url });
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refusal)
        {
            WebhookLog.Refused(context.Logger, actionId, runId, host, refusal.Block.ToString());
            return ActionResult.Failure(
                $"{refusal.Host} resolves to {refusal.Block}, which webhooks may not reach; set Actionflow__Webhooks__AllowPrivateNetworks=true to allow it",
                new JsonObject { ["url"] = url });
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            WebhookLog.Unreachable(context.Logger, actionId, runId, host, ex);
            return ActionResult.RetryableFailure($"could not reach {url}: {Describe(ex)}", null, new JsonObject { ["url"] = url });
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
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

    private static async Task<(JsonNode? Body, bool Truncated)> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxResponseBytes + 1];
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        var truncated = read > MaxResponseBytes;
        var length = Math.Min(read, MaxResponseBytes);

        // flush: false drops a character cut in half by the cap instead of turning it into U+FFFD.
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[decoder.GetCharCount(buffer, 0, length, flush: !truncated)];
        var text = new string(chars, 0, decoder.GetChars(buffer, 0, length, chars, 0, flush: !truncated));

        if (!truncated && LooksLikeJson(content.Headers.ContentType?.MediaType, text))
        {
            try
            {
                // The response sits one level down in the output, which becomes the next event's extra_metadata: a
                // document deeper than the API can write back is kept as the text it was.
                if (JsonNode.Parse(text) is var parsed && JsonLimits.IsWithin(parsed, JsonLimits.MaxDepth - 1))
                {
                    return (parsed, false);
                }
            }
            catch (JsonException)
            {
            }
        }

        return (JsonValue.Create(text), truncated);
    }

    private static bool LooksLikeJson(string? mediaType, string text)
    {
        if (mediaType is not null
            && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            return text.Length > 0;
        }

        var trimmed = text.AsSpan().TrimStart();
        return trimmed.Length > 0 && trimmed[0] is '{' or '[';
    }

    private static WebhookAddressRefusedException? FindRefusal(Exception ex)
    {
        for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookAddressRefusedException refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    private static string Describe(Exception ex) =>
        ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{ex.Message} {inner.Message}"
            : ex.Message;
}
