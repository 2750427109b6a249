using System.Text.Json.Nodes;
using Actionflow.Actions.HuggingFace;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

/// <summary>hf_zero_shot against a local server answering as the Hugging Face Inference API does (its documented shapes and errors).</summary>
public sealed class HuggingFaceZeroShotActionTests
{
    private const string ModelPath = "/models/facebook/bart-large-mnli";

    private static ActionTester<HuggingFaceZeroShotAction> Tester(Dictionary<string, string?>? settings = null) => new(s => s.AddBuiltInActions(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Actionflow:Webhooks:AllowPrivateNetworks"] = "true",
        }.Concat(settings ?? [])).Build()));

    private static TestEvent Uploaded(string text) => new()
    {
        Kind = EventKinds.InputFileUploaded, Id = 5, FileId = 55, DirectoryId = 3, ExtraMetadata = new JsonObject { ["text"] = text },
    };

    private static JsonObject Config(LocalApi api, Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["text"] = "{{ event.extra_metadata.text }}",
            ["candidate_labels"] = new JsonArray("invoice", "receipt", "letter"),
            ["label_ids"] = new JsonObject { ["invoice"] = 101, ["receipt"] = 102 },
            ["base_url"] = api.Url("models"),
            ["token"] = "hf_test_token_4711",
        };
        change?.Invoke(config);
        return config;
    }

    private static List<ConfigProblem> Problems(JsonObject config)
    {
        using var services = TestHelpers.CreateServices(allowPrivateNetworks: false);
        return services.GetRequiredService<HuggingFaceZeroShotAction>()
            .ValidateConfig(System.Text.Json.JsonSerializer.Deserialize<HuggingFaceZeroShotConfig>(config, Core.Json.JsonDefaults.SnakeCase)!).ToList();
    }

    [Fact]
    public async Task Template_KindNameAndSchema_AreDiffgrams()
    {
        await using var tester = Tester();
        Assert.Equal("hf_zero_shot", tester.Template.Kind);
        Assert.Equal("Zero Shot Classification (Hugging Face)", tester.Template.PublicName);
        Assert.Contains("candidate_labels", tester.Template.ConfigSchema["required"]!.AsArray().Select(n => (string?)n));
        Assert.True((bool)tester.Template.ConfigSchema["properties"]!["token"]!["writeOnly"]!);
    }

    [Theory]
    [InlineData("""{"text": "{{ event.extra_metadata.text ", "candidate_labels": ["a"]}""", "text")]
    [InlineData("""{"text": "x", "candidate_labels": ["a", "a"]}""", "candidate_labels")]
    [InlineData("""{"text": "x", "candidate_labels": ["a"], "label_ids": {"b": 3}}""", "label_ids.b")]
    [InlineData("""{"text": "x", "candidate_labels": ["a"], "model": "../admin"}""", "model")]
    [InlineData("""{"text": "x", "candidate_labels": ["a"], "base_url": "http://127.0.0.1:9000/models"}""", "base_url")]
    public void ValidateConfig_Invalid_NamesTheField(string config, string field)
    {
        Assert.Contains(Problems(JsonNode.Parse(config)!.AsObject()), p => p.Field == field);
    }

    [Fact]
    public async Task ExecuteAsync_ClassicAnswer_BestLabelWithDiffgramKeysAndScores()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, () => Results.Json(new
        {
            sequence = "Total due: 120 EUR",
            labels = new[] { "invoice", "receipt", "letter" },
            scores = new[] { 0.81, 0.15, 0.04 },
        })));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("Total due: 120 EUR"));

        Assert.True(result.Succeeded, result.FailureReason);
        var call = Assert.Single(api.Calls);
        Assert.Equal("Bearer hf_test_token_4711", call.Header("Authorization"));
        Assert.Equal("""{"inputs":"Total due: 120 EUR","parameters":{"candidate_labels":["invoice","receipt","letter"],"multi_label":false}}""", call.Body);
        Assert.Equal(101, (long)result.Output["applied_option_id"]!);
        Assert.Equal("invoice", (string?)result.Output["applied_option_label"]);
        Assert.Equal(0.81, (double)result.Output["score"]!);
        Assert.Equal(0.15, (double)result.Output["scores"]!["receipt"]!);
        Assert.Equal(55, (long)result.Output["file_id"]!);
        Assert.Equal(3, (long)result.Output["directory_id"]!);
        Assert.Equal("action_completed", result.CompletionEvent);
    }

    [Fact]
    public async Task ExecuteAsync_ListAnswerAndHostSettings_UsesSettingsAndLabelWithoutIdHasNullId()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost("/hf/models/org/tiny-nli", () => Results.Json(new[]
        {
            new { label = "letter", score = 0.7 }, new { label = "invoice", score = 0.2 }, new { label = "receipt", score = 0.1 },
        })));
        await using var tester = Tester(new() { ["Actionflow:HuggingFace:BaseUrl"] = api.Url("hf/models"), ["Actionflow:HuggingFace:Token"] = "hf_from_settings" });

        var result = await tester.RunAsync(Config(api, c => { c.Remove("base_url"); c.Remove("token"); c["model"] = "org/tiny-nli"; }), Uploaded("Dear Sir"));

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("Bearer hf_from_settings", Assert.Single(api.Calls).Header("Authorization"));
        Assert.Equal("letter", (string?)result.Output["applied_option_label"]);
        Assert.Null(result.Output["applied_option_id"]);
    }

    [Fact]
    public async Task ExecuteAsync_RateLimited429_RetriedAfterRetryAfter()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, (HttpResponse response) =>
        {
            response.Headers.RetryAfter = "7";
            return Results.Json(new { error = "Rate limit reached. You reached free usage limit (reset hourly)." }, statusCode: 429);
        }));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), result.RetryAfter);
        Assert.Contains("HTTP 429", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("Rate limit reached", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ModelLoading503_RetriedAfterTheEstimatedTime()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, () =>
            Results.Json(new { error = "Model facebook/bart-large-mnli is currently loading", estimated_time = 20.0 }, statusCode: 503)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(20), result.RetryAfter);
        Assert.Contains("currently loading", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_BadToken401_FinalFailureWithTheApiMessageNotTheToken()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, () =>
            Results.Json(new { error = "Invalid credentials in Authorization header" }, statusCode: 401)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.EndsWith("Invalid credentials in Authorization header", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("hf_test_token_4711", result.FailureReason + result.Output.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_EmptyText_FailsWithoutCalling()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, () => Results.Ok()));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("  "));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Equal("text is empty once rendered: there is nothing to classify", result.FailureReason);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_NotAClassification_FailsSayingSo()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(ModelPath, () => Results.Json(new { generated_text = "hello" })));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), Uploaded("x"));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains("is not a zero-shot classification", result.FailureReason, StringComparison.Ordinal);
    }
}
