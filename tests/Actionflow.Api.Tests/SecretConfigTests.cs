using System.Text.Json.Nodes;
using Actionflow.Actions.Webhook;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;

namespace Actionflow.Api.Tests;

/// <summary>Secret config fields and maps of secret values (Webhook headers): masked for every reader, write-only.</summary>
public sealed class SecretConfigTests
{
    private const string Mask = CompiledConfigSchema.Mask;

    private static readonly CompiledConfigSchema Webhook = new ConfigSchemas().For(new ActionTemplate
    {
        Kind = WebhookAction.KindName,
        PublicName = "Webhook",
        ConfigSchema = RunnerRegistry.ConfigSchema(typeof(WebhookConfig)),
    });

    [Fact]
    public void ConfigSchema_SecretDictionary_ItsValuesAreWriteOnlyNotTheMap()
    {
        var headers = RunnerRegistry.ConfigSchema(typeof(WebhookConfig))["properties"]!["headers"]!;

        Assert.Null(headers["writeOnly"]);
        Assert.True((bool)headers["additionalProperties"]!["writeOnly"]!);
        Assert.Equal(["headers"], Webhook.SecretMaps);
        Assert.Equal(["secret"], Webhook.Secrets);
    }

    [Fact]
    public void MaskSecrets_HeaderValues_EveryValueMaskedNamesKept()
    {
        var stored = Config(("Authorization", "Bearer t0ken"), ("X-Team", "blue"));

        var masked = Webhook.MaskSecrets(stored);

        Assert.Equal(Mask, (string?)masked["headers"]!["Authorization"]);
        Assert.Equal(Mask, (string?)masked["headers"]!["X-Team"]);
        Assert.Equal(Mask, (string?)masked["secret"]);
        Assert.Equal("https://example.com/hook", (string?)masked["url"]);
        Assert.DoesNotContain("t0ken", masked.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("Bearer t0ken", (string?)stored["headers"]!["Authorization"]);
    }

    [Fact]
    public void KeepSecrets_MaskSentBack_KeepsTheStoredValue_NewValuesReplace_UnsentNamesGo()
    {
        var stored = Config(("Authorization", "Bearer t0ken"), ("X-Team", "blue"), ("X-Gone", "x"));
        var sent = Webhook.MaskSecrets(stored);
        sent["headers"]!.AsObject().Remove("X-Gone");
        sent["headers"]!["X-Team"] = "green";
        sent["headers"]!["X-New"] = "new";

        var kept = Webhook.KeepSecrets(sent, stored);

        var headers = kept["headers"]!.AsObject();
        Assert.Equal(["Authorization", "X-Team", "X-New"], headers.Select(h => h.Key));
        Assert.Equal("Bearer t0ken", (string?)headers["Authorization"]);
        Assert.Equal("green", (string?)headers["X-Team"]);
        Assert.Equal("s3cret", (string?)kept["secret"]);
    }

    [Fact]
    public void KeepSecrets_MaskForANameNotStored_IsDropped_OtherCaseFindsIt()
    {
        var stored = Config(("Authorization", "Bearer t0ken"));
        var sent = new JsonObject { ["headers"] = new JsonObject { ["authorization"] = Mask, ["X-Unknown"] = Mask } };

        var kept = Webhook.KeepSecrets(sent, stored);

        Assert.Equal("""{"authorization":"Bearer t0ken"}""", kept["headers"]!.ToJsonString());
    }

    [Fact]
    public void KeepSecrets_HeadersLeftOut_StoredKept_ExplicitNullClears()
    {
        var stored = Config(("Authorization", "Bearer t0ken"));

        Assert.Equal("Bearer t0ken", (string?)Webhook.KeepSecrets(new JsonObject { ["url"] = "https://example.com/other" }, stored)["headers"]!["Authorization"]);
        var cleared = Webhook.KeepSecrets(new JsonObject { ["headers"] = null }, stored);
        Assert.True(cleared.ContainsKey("headers"));
        Assert.Null(cleared["headers"]);
        Assert.Null(Webhook.KeepSecrets(new JsonObject(), stored: null)["headers"]);
    }

    private static JsonObject Config(params (string Name, string Value)[] headers)
    {
        var map = new JsonObject();
        foreach (var (name, value) in headers)
        {
            map[name] = value;
        }

        return new JsonObject { ["url"] = "https://example.com/hook", ["headers"] = map, ["secret"] = "s3cret" };
    }
}
