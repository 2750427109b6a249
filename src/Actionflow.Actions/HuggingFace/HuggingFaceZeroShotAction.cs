using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Templating;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.HuggingFace;

/// <summary>
/// Diffgram's <c>hf_zero_shot</c>: classifies a text (from the event or the previous step's output) against candidate
/// labels through a Hugging Face Inference API–compatible endpoint, and reports the best label with Diffgram's keys
/// (<c>applied_option_id</c>, <c>applied_option_label</c>) plus every score, so a condition or Diffgram's labeling step
/// can act on it. Where Diffgram loaded a model in the worker on every run, this calls a hosted one; a model still
/// loading (503 with <c>estimated_time</c>) or a rate limit (429 with <c>Retry-After</c>) is retried after the wait given.
/// </summary>
[ActionTemplate(KindName, "Zero Shot Classification (Hugging Face)", "Performs Zero Shot Classification for the text file", Category = "ml",
    Triggers = [EventKinds.InputFileUploaded, EventKinds.TaskCreated, EventKinds.ActionCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger])]
public sealed class HuggingFaceZeroShotAction(OutboundHttp outbound, IOptions<WebhookOptions> webhookOptions, IOptions<HuggingFaceOptions> options)
    : ActionRunner<HuggingFaceZeroShotConfig>
{
    public const string KindName = "hf_zero_shot";

    public override IEnumerable<ConfigProblem> ValidateConfig(HuggingFaceZeroShotConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (LiquidTemplates.Problem(config.Text) is { } textProblem)
        {
            yield return new ConfigProblem("text", textProblem);
        }

        // Left out, it is the schema's "required" (a step is first added empty); given empty, it cannot be right.
        var labels = config.CandidateLabels ?? [];
        if (config.CandidateLabels is { Count: 0 })
        {
            yield return new ConfigProblem("candidate_labels", "needs at least one label");
        }
        else if (labels.Any(string.IsNullOrWhiteSpace) || labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
        {
            yield return new ConfigProblem("candidate_labels", "must be distinct, non-empty labels");
        }

        foreach (var label in (config.LabelIds ?? []).Keys.Where(k => !labels.Contains(k, StringComparer.Ordinal)))
        {
            yield return new ConfigProblem("label_ids." + label, "is not one of candidate_labels");
        }

        if (string.IsNullOrWhiteSpace(config.Model) || config.Model.Contains("..", StringComparison.Ordinal) || config.Model.Any(c => char.IsWhiteSpace(c) || c is '?' or '#'))
        {
            yield return new ConfigProblem("model", "must be a model name such as facebook/bart-large-mnli");
        }

        if (!string.IsNullOrWhiteSpace(config.BaseUrl) && !config.BaseUrl.Contains("secrets.", StringComparison.Ordinal)
            && OutboundUrl.Problem(config.BaseUrl.Trim(), webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            yield return new ConfigProblem("base_url", urlProblem);
        }
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<HuggingFaceZeroShotConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } invalid)
        {
            return ActionResult.Failure($"{invalid.Field} {invalid.Message}");
        }

        if (config.CandidateLabels is not { Count: > 0 } candidateLabels)
        {
            return ActionResult.Failure("candidate_labels is required: the labels to choose from");
        }

        string text;
        try
        {
            text = LiquidTemplates.Render("text", config.Text, LiquidTemplates.ModelOf(context));
        }
        catch (TemplateException ex)
        {
            return ActionResult.Failure(ex.Message);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return ActionResult.Failure("text is empty once rendered: there is nothing to classify");
        }

        var url = ApiCall.Combine(string.IsNullOrWhiteSpace(config.BaseUrl) ? options.Value.BaseUrl : config.BaseUrl.Trim(), config.Model);
        if (OutboundUrl.Problem(url, webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            return ActionResult.Failure($"base_url {urlProblem}");
        }

        var uri = new Uri(url);
        var safeUrl = SafeUrl.Display(uri);
        using var request = ApiCall.Json(HttpMethod.Post, uri, new JsonObject
        {
            ["inputs"] = text,
            ["parameters"] = new JsonObject
            {
                ["candidate_labels"] = new JsonArray([.. candidateLabels.Select(l => JsonValue.Create(l))]),
                ["multi_label"] = config.MultiLabel,
            },
        });
        var token = string.IsNullOrWhiteSpace(config.Token) ? options.Value.Token : config.Token;
        if (!string.IsNullOrWhiteSpace(token))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.Trim());
        }

        var attempt = await outbound.SendAsync(request, TimeSpan.FromSeconds(config.TimeoutSeconds), 256 * 1024, cancellationToken);
        HuggingFaceLog.Called(context.Logger, context.Action.Id, context.Run.Id, config.Model, uri.IdnHost, attempt.Outcome, attempt.StatusCode);
        if (attempt.NoAnswerResult(safeUrl, config.TimeoutSeconds) is { } noAnswer)
        {
            return noAnswer;
        }

        var output = Subject(context);
        output["model"] = config.Model;
        if (!attempt.IsSuccessStatus)
        {
            output["status_code"] = attempt.StatusCode;
            output["error"] = attempt.Body?.DeepClone();
            var loading = ApiCall.Number(ApiCall.Member(attempt.Body, "estimated_time")) is { } seconds ? TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 600)) : (TimeSpan?)null;
            return ApiCall.Failed(attempt, safeUrl, output, ApiCall.Text(ApiCall.Member(attempt.Body, "error")), loading);
        }

        if (Scores(attempt.Body) is not { Count: > 0 } scores)
        {
            return ActionResult.Failure($"the answer from {safeUrl} is not a zero-shot classification (labels and scores)", output);
        }

        var (bestLabel, bestScore) = scores.MaxBy(s => s.Score);
        output["applied_option_id"] = config.LabelIds is not null && config.LabelIds.TryGetValue(bestLabel, out var id) ? id : null;
        output["applied_option_label"] = bestLabel;
        output["score"] = bestScore;
        output["scores"] = new JsonObject(scores.OrderByDescending(s => s.Score).Select(s => KeyValuePair.Create(s.Label, (JsonNode?)JsonValue.Create(s.Score))));
        return ActionResult.Success(output);
    }

    /// <summary>Diffgram's keys for what was classified: the task, file and directory of the event (or of the previous step's output).</summary>
    private static JsonObject Subject(ActionContext context)
    {
        var previous = LiquidTemplates.PreviousOf(context.Event);
        JsonNode? Pick(long? fromEvent, string key) => fromEvent is { } v ? v : previous[key]?.DeepClone();
        return new JsonObject
        {
            ["task_id"] = Pick(context.Event.TaskId, "task_id"),
            ["file_id"] = Pick(context.Event.FileId, "file_id"),
            ["directory_id"] = Pick(context.Event.DirectoryId, "directory_id"),
        };
    }

    /// <summary>
    /// The label scores of an answer in either shape the API has had: <c>{"sequence", "labels": [...], "scores": [...]}</c>
    /// or <c>[{"label", "score"}, ...]</c>.
    /// </summary>
    internal static List<(string Label, double Score)>? Scores(JsonNode? body)
    {
        if (body is JsonObject { } obj && obj["labels"] is JsonArray labels && obj["scores"] is JsonArray scores && labels.Count == scores.Count)
        {
            var pairs = labels.Zip(scores, (l, s) => (Label: ApiCall.Text(l), Score: ApiCall.Number(s))).ToList();
            return pairs.All(p => p.Label is not null && p.Score is not null) ? [.. pairs.Select(p => (p.Label!, p.Score!.Value))] : null;
        }

        if (body is JsonArray array)
        {
            var pairs = array.Select(e => (Label: ApiCall.Text(ApiCall.Member(e, "label")), Score: ApiCall.Number(ApiCall.Member(e, "score")))).ToList();
            return pairs.All(p => p.Label is not null && p.Score is not null) ? [.. pairs.Select(p => (p.Label!, p.Score!.Value))] : null;
        }

        return null;
    }
}
