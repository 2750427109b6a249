using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Templating;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Http;

/// <summary>
/// Calls any HTTP API with a request built from templates, and records the response (status, headers, JSON or text)
/// as its output for the next step. Which statuses are success is the step's choice; 5xx, 429 and 408 are retried
/// (after <c>Retry-After</c>), other failures are final. Same guard, timeouts and URL redaction as the Webhook.
/// </summary>
[ActionTemplate(KindName, "HTTP request", "Calls an HTTP API with a templated request; the response becomes the output.", Category = "integration",
    Triggers =
    [
        EventKinds.InputFileUploaded, EventKinds.ActionCompleted, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart,
        EventKinds.TaskRequestChanges, EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated,
        EventKinds.TaskTemplateCompleted, EventKinds.FileCopy, EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ManualTrigger, EventKinds.TimeTrigger,
        EventKinds.ExportGenerateSuccess,
    ])]
public sealed partial class HttpRequestAction(OutboundHttp outbound, IOptions<WebhookOptions> options) : ActionRunner<HttpRequestConfig>
{
    public const string KindName = "http_request";

    public override IEnumerable<ConfigProblem> ValidateConfig(HttpRequestConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.IsNullOrWhiteSpace(config.Url))
        {
            var problem = LiquidTemplates.IsTemplate(config.Url)
                ? LiquidTemplates.Problem(config.Url)
                : OutboundUrl.Problem(config.Url.Trim(), options.Value.AllowPrivateNetworks);
            if (problem is not null)
            {
                yield return new ConfigProblem("url", problem);
            }
        }

        foreach (var (name, value) in config.Headers ?? [])
        {
            // A header value that is a template is checked as a template now and as a header once rendered.
            var problem = LiquidTemplates.IsTemplate(value) || Core.Secrets.SecretCipher.IsSealed(value)
                ? LiquidTemplates.Problem(value) ?? OutboundHeaders.Problem(name, "x")
                : OutboundHeaders.Problem(name, value);
            if (problem is not null)
            {
                yield return new ConfigProblem("headers." + name, problem);
            }
        }

        foreach (var (name, value) in config.Query ?? [])
        {
            if (LiquidTemplates.Problem(value) is { } problem)
            {
                yield return new ConfigProblem("query." + name, problem);
            }
        }

        if (config.Body is not null)
        {
            if (config.BodyType == "form" && config.Body is not JsonObject)
            {
                yield return new ConfigProblem("body", "must be an object of field names and values (templates) when body_type is form");
            }
            else if (config.BodyType == "text" && !(config.Body is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String))
            {
                yield return new ConfigProblem("body", "must be a string (a template) when body_type is text");
            }

            foreach (var (field, message) in LiquidTemplates.JsonProblems("body", config.Body))
            {
                yield return new ConfigProblem(field, message);
            }
        }

        if (StatusRanges.Parse(config.SuccessStatuses) is null)
        {
            yield return new ConfigProblem("success_statuses", "must be status ranges between 100 and 599, e.g. 200-299 or 200-299,404");
        }
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<HttpRequestConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } invalid)
        {
            return ActionResult.Failure($"{invalid.Field} {invalid.Message}");
        }

        var success = StatusRanges.Parse(config.SuccessStatuses)!;
        HttpRequestMessage request;
        string url;
        try
        {
            (request, url) = Build(config, LiquidTemplates.ModelOf(context));
        }
        catch (TemplateException ex)
        {
            return ActionResult.Failure(ex.Message);
        }
        catch (RequestRefusedException ex)
        {
            return ActionResult.Failure(ex.Message);
        }

        using (request)
        {
            var host = request.RequestUri!.IdnHost;
            var attempt = await outbound.SendAsync(request, TimeSpan.FromSeconds(config.TimeoutSeconds), config.MaxResponseBytes, cancellationToken);
            HttpRequestLog.Sent(context.Logger, context.Action.Id, context.Run.Id, config.Method, host, attempt.Outcome, attempt.StatusCode);
            if (attempt.NoAnswerResult(url, config.TimeoutSeconds) is { } noAnswer)
            {
                return noAnswer;
            }

            var output = new JsonObject
            {
                ["status_code"] = attempt.StatusCode,
                ["url"] = url,
                ["headers"] = attempt.Headers,
                ["body"] = attempt.Body,
                ["body_truncated"] = attempt.Truncated,
            };
            return success.Contains(attempt.StatusCode) ? ActionResult.Success(output) : attempt.FailedStatusResult(url, output);
        }
    }

    /// <summary>The request the config describes for this run, and its URL as outputs show it.</summary>
    internal (HttpRequestMessage Request, string SafeUrl) Build(HttpRequestConfig config, TemplateModel model)
    {
        var url = LiquidTemplates.Render("url", config.Url, model).Trim();
        if (OutboundUrl.Problem(url, options.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            throw new RequestRefusedException($"url {urlProblem}");
        }

        var builder = new UriBuilder(url);
        if (config.Query is { Count: > 0 } query)
        {
            var pairs = query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(LiquidTemplates.Render("query." + q.Key, q.Value, model)));
            var existing = builder.Query.TrimStart('?');
            builder.Query = string.Join('&', (existing.Length > 0 ? [existing] : Array.Empty<string>()).Concat(pairs));
        }

        var uri = builder.Uri;
        var request = new HttpRequestMessage(new HttpMethod(config.Method), uri);
        if (config.Body is not null && config.Method is not ("GET" or "HEAD"))
        {
            request.Content = config.BodyType switch
            {
                "form" => new FormUrlEncodedContent(((JsonObject)config.Body).Select(p =>
                    KeyValuePair.Create(p.Key, LiquidTemplates.Render("body." + p.Key, p.Value?.ToString(), model)))),
                "text" => new StringContent(LiquidTemplates.Render("body", (string?)config.Body, model), Encoding.UTF8, "text/plain"),
                _ => new StringContent(LiquidTemplates.RenderJson("body", config.Body, model)?.ToJsonString(BodyJson) ?? "null", Encoding.UTF8, "application/json"),
            };
        }

        foreach (var (name, template) in config.Headers ?? [])
        {
            var value = LiquidTemplates.Render("headers." + name, template, model);
            if (OutboundHeaders.Problem(name, value) is { } problem)
            {
                request.Dispose();
                throw new RequestRefusedException($"header '{name}' {problem}");
            }

            if (!request.Headers.TryAddWithoutValidation(name, value) && !(request.Content?.Headers.TryAddWithoutValidation(name, value) ?? false))
            {
                request.Dispose();
                throw new RequestRefusedException($"header '{name}' is refused by the HTTP client");
            }
        }

        return (request, SafeUrl.Display(uri));
    }

    private static readonly System.Text.Json.JsonSerializerOptions BodyJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private sealed class RequestRefusedException(string message) : Exception(message);
}

/// <summary>Status ranges such as <c>200-299,404</c>.</summary>
public sealed class StatusRanges
{
    private readonly List<(int From, int To)> _ranges;

    private StatusRanges(List<(int, int)> ranges) => _ranges = ranges;

    public bool Contains(int status) => _ranges.Any(r => status >= r.From && status <= r.To);

    public static StatusRanges? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var ranges = new List<(int, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            if (bounds.Length is < 1 or > 2
                || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var to)
                || from < 100 || to > 599 || from > to)
            {
                return null;
            }

            ranges.Add((from, to));
        }

        return new StatusRanges(ranges);
    }
}
