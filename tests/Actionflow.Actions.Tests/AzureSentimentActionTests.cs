using System.Text.Json.Nodes;
using Actionflow.Actions.Azure;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

/// <summary>azure_sentiment against a local server answering as Azure AI Language's analyze-text API does (its documented shapes and errors).</summary>
public sealed class AzureSentimentActionTests
{
    private static ActionTester<AzureSentimentAction> Tester() => new(s => s.AddBuiltInActions(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Actionflow:Webhooks:AllowPrivateNetworks"] = "true" }).Build()));

    private static TestEvent Uploaded(string text) => new()
    {
        Kind = EventKinds.InputFileUploaded, Id = 5, FileId = 55, ExtraMetadata = new JsonObject { ["text"] = text },
    };

    private static JsonObject Config(LocalApi api) => new()
    {
        ["endpoint"] = api.BaseUrl, ["key"] = "azure-key-0042", ["text"] = "{{ event.extra_metadata.text }}",
    };

    private static Task<LocalApi> Api(Func<HttpRequest, IResult> answer) =>
        LocalApi.StartAsync(app => app.MapPost("/language/{operation}", (string operation, HttpRequest request) =>
            operation == ":analyze-text" ? answer(request) : Results.NotFound()));

    [Fact]
    public async Task Template_KindAndSecretKey_AreDiffgrams()
    {
        await using var tester = Tester();
        Assert.Equal("azure_sentiment", tester.Template.Kind);
        Assert.Equal("Azure Text Analytics", tester.Template.PublicName);
        Assert.True((bool)tester.Template.ConfigSchema["properties"]!["key"]!["writeOnly"]!);
    }

    [Theory]
    [InlineData("""{"endpoint": "ftp://x.example", "key": "k", "text": "t"}""", "endpoint")]
    [InlineData("""{"endpoint": "{{ secrets.AZURE_ENDPOINT }}", "key": "k", "text": "{{ nope }}"}""", "text")]
    public void ValidateConfig_Invalid_NamesTheField(string config, string field)
    {
        using var services = TestHelpers.CreateServices(allowPrivateNetworks: false);
        var problems = services.GetRequiredService<AzureSentimentAction>()
            .ValidateConfig(System.Text.Json.JsonSerializer.Deserialize<AzureSentimentConfig>(JsonNode.Parse(config), Core.Json.JsonDefaults.SnakeCase)!);
        Assert.Contains(problems, p => p.Field == field);
    }

    [Fact]
    public async Task ExecuteAsync_Documented200_SentimentScoresAndSentencesBecomeTheOutput()
    {
        await using var api = await Api(_ => Results.Json(JsonNode.Parse("""
            {"kind": "SentimentAnalysisResults", "results": {"documents": [{"id": "1", "sentiment": "mixed",
              "confidenceScores": {"positive": 0.5, "neutral": 0.1, "negative": 0.4},
              "sentences": [
                {"sentiment": "positive", "confidenceScores": {"positive": 0.9, "neutral": 0.05, "negative": 0.05}, "offset": 0, "length": 18, "text": "The food was good."},
                {"sentiment": "negative", "confidenceScores": {"positive": 0.1, "neutral": 0.1, "negative": 0.8}, "offset": 19, "length": 20, "text": "The service was bad."}],
              "warnings": []}], "errors": [], "modelVersion": "2022-11-01"}}
            """)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("The food was good. The service was bad."));

        Assert.True(result.Succeeded, result.FailureReason);
        var call = Assert.Single(api.Calls);
        Assert.Equal("/language/:analyze-text?api-version=2023-04-01", call.PathAndQuery);
        Assert.Equal("azure-key-0042", call.Header("Ocp-Apim-Subscription-Key"));
        var body = JsonNode.Parse(call.Body)!;
        Assert.Equal("SentimentAnalysis", (string?)body["kind"]);
        Assert.Equal("The food was good. The service was bad.", (string?)body["analysisInput"]!["documents"]![0]!["text"]);
        Assert.Equal("en", (string?)body["analysisInput"]!["documents"]![0]!["language"]);
        Assert.Equal("mixed", (string?)result.Output["sentiment"]);
        Assert.Equal(0.4, (double)result.Output["confidence_scores"]!["negative"]!);
        Assert.Equal("negative", (string?)result.Output["sentences"]![1]!["sentiment"]);
        Assert.Equal("2022-11-01", (string?)result.Output["model_version"]);
    }

    [Fact]
    public async Task ExecuteAsync_DocumentError_FinalFailureWithItsCode()
    {
        await using var api = await Api(_ => Results.Json(JsonNode.Parse("""
            {"kind": "SentimentAnalysisResults", "results": {"documents": [], "errors": [{"id": "1", "error": {"code": "InvalidArgument",
              "message": "Invalid Language Code.", "innererror": {"code": "UnsupportedLanguageCode", "message": "Invalid language code. Supported languages: ..."}}}],
              "modelVersion": "2022-11-01"}}
            """)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.StartsWith("Azure AI Language could not analyse the text: UnsupportedLanguageCode: Invalid language code.", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_WrongKey401_FinalFailureWithTheMessageNotTheKey()
    {
        await using var api = await Api(_ => Results.Json(JsonNode.Parse("""
            {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}
            """), statusCode: 401));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains("HTTP 401", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("Access denied due to invalid subscription key", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("azure-key-0042", result.FailureReason + result.Output.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_RateLimited429_RetriedAfterRetryAfter()
    {
        await using var api = await Api(request =>
        {
            request.HttpContext.Response.Headers.RetryAfter = "3";
            return Results.Json(JsonNode.Parse("""{"error": {"code": "429", "message": "Rate limit is exceeded. Try again in 3 seconds."}}"""), statusCode: 429);
        });
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(3), result.RetryAfter);
        Assert.Contains("Rate limit is exceeded", result.FailureReason, StringComparison.Ordinal);
    }
}
