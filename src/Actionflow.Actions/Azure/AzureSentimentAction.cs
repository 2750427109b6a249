using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Templating;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using Microsoft.Extensions.Options;

namespace Actionflow.Actions.Azure;

/// <summary>
/// Diffgram's <c>azure_sentiment</c> (broken there: it never ran), done: one text analysed by Azure AI Language's
/// sentiment analysis (<c>POST {endpoint}/language/:analyze-text</c>, kind <c>SentimentAnalysis</c>), the document's
/// sentiment and confidence scores, and each sentence's, as the output. An error the API reports for the document
/// fails the run with its code and message; 429 and 5xx are retried after <c>Retry-After</c>.
/// </summary>
[ActionTemplate(KindName, "Azure Text Analytics", "Azure Text Analytics: the sentiment of a text (Azure AI Language)", Category = "ml",
    Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.ManualTrigger, EventKinds.TimeTrigger])]
public sealed class AzureSentimentAction(OutboundHttp outbound, IOptions<WebhookOptions> webhookOptions) : ActionRunner<AzureSentimentConfig>
{
    public const string KindName = "azure_sentiment";

    public override IEnumerable<ConfigProblem> ValidateConfig(AzureSentimentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // The endpoint is usually a secret reference, judged once resolved; a URL written out is judged now.
        if (!string.IsNullOrWhiteSpace(config.Endpoint) && !config.Endpoint.Contains("secrets.", StringComparison.Ordinal)
            && OutboundUrl.Problem(config.Endpoint.Trim(), webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            yield return new ConfigProblem("endpoint", urlProblem);
        }

        if (LiquidTemplates.Problem(config.Text) is { } textProblem)
        {
            yield return new ConfigProblem("text", textProblem);
        }
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<AzureSentimentConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } invalid)
        {
            return ActionResult.Failure($"{invalid.Field} {invalid.Message}");
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
            return ActionResult.Failure("text is empty once rendered: there is nothing to analyse");
        }

        var url = ApiCall.Combine(config.Endpoint.Trim(), "language/:analyze-text") + "?api-version=" + Uri.EscapeDataString(config.ApiVersion);
        if (OutboundUrl.Problem(url, webhookOptions.Value.AllowPrivateNetworks) is { } urlProblem)
        {
            return ActionResult.Failure($"endpoint {urlProblem}");
        }

        var uri = new Uri(url);
        var safeUrl = SafeUrl.Display(uri);
        using var request = ApiCall.Json(HttpMethod.Post, uri, new JsonObject
        {
            ["kind"] = "SentimentAnalysis",
            ["parameters"] = new JsonObject { ["modelVersion"] = "latest", ["opinionMining"] = config.OpinionMining },
            ["analysisInput"] = new JsonObject
            {
                ["documents"] = new JsonArray(new JsonObject { ["id"] = "1", ["language"] = config.Language, ["text"] = text }),
            },
        });
        request.Headers.TryAddWithoutValidation("Ocp-Apim-Subscription-Key", config.Key.Trim());

        var attempt = await outbound.SendAsync(request, TimeSpan.FromSeconds(config.TimeoutSeconds), 512 * 1024, cancellationToken);
        AzureSentimentLog.Called(context.Logger, context.Action.Id, context.Run.Id, uri.IdnHost, attempt.Outcome, attempt.StatusCode);
        if (attempt.NoAnswerResult(safeUrl, config.TimeoutSeconds) is { } noAnswer)
        {
            return noAnswer;
        }

        var output = new JsonObject { ["file_id"] = context.Event.FileId, ["task_id"] = context.Event.TaskId };
        if (!attempt.IsSuccessStatus)
        {
            output["status_code"] = attempt.StatusCode;
            output["error"] = ApiCall.Member(attempt.Body, "error")?.DeepClone();
            return ApiCall.Failed(attempt, safeUrl, output, ErrorText(ApiCall.Member(attempt.Body, "error")));
        }

        var results = ApiCall.Member(attempt.Body, "results");
        if (ApiCall.Member(results, "errors") is JsonArray { Count: > 0 } errors)
        {
            // The request was fine but the document was not (too long, a language the model lacks): running it again changes nothing.
            output["error"] = ApiCall.Member(errors[0], "error")?.DeepClone();
            return ActionResult.Failure($"Azure AI Language could not analyse the text: {ErrorText(ApiCall.Member(errors[0], "error"))}", output);
        }

        if (ApiCall.Member(results, "documents") is not JsonArray { Count: > 0 } documents || documents[0] is not JsonObject document || ApiCall.Text(document["sentiment"]) is not { } sentiment)
        {
            return ActionResult.Failure($"the answer from {safeUrl} is not a sentiment analysis result", output);
        }

        output["sentiment"] = sentiment;
        output["confidence_scores"] = document["confidenceScores"]?.DeepClone();
        output["sentences"] = new JsonArray([.. (document["sentences"] as JsonArray ?? []).Select(s => (JsonNode)new JsonObject
        {
            ["text"] = ApiCall.Member(s, "text")?.DeepClone(),
            ["sentiment"] = ApiCall.Member(s, "sentiment")?.DeepClone(),
            ["confidence_scores"] = ApiCall.Member(s, "confidenceScores")?.DeepClone(),
            ["targets"] = ApiCall.Member(s, "targets")?.DeepClone(),
            ["assessments"] = ApiCall.Member(s, "assessments")?.DeepClone(),
        })]);
        output["warnings"] = document["warnings"]?.DeepClone() ?? new JsonArray();
        output["model_version"] = ApiCall.Member(results, "modelVersion")?.DeepClone();
        return ActionResult.Success(output);
    }

    private static string? ErrorText(JsonNode? error)
    {
        if (error is not JsonObject)
        {
            return null;
        }

        var inner = error["innererror"];
        var code = ApiCall.Text(ApiCall.Member(inner, "code")) ?? ApiCall.Text(error["code"]);
        var message = ApiCall.Text(ApiCall.Member(inner, "message")) ?? ApiCall.Text(error["message"]);
        return code is null ? message : $"{code}: {message}";
    }
}
