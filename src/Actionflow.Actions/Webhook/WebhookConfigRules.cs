using Actionflow.Actions.Outbound;
using Actionflow.Sdk;

namespace Actionflow.Actions.Webhook;

/// <summary>
/// What makes a Webhook config unusable beyond its JSON Schema. The API refuses such a config when it is saved or
/// activated (through <see cref="WebhookAction.ValidateConfig(WebhookConfig)"/>) and a run fails on it finally, so
/// both say the same. Only what is set is checked: a missing url is the schema's (required once active).
/// </summary>
internal static class WebhookConfigRules
{
    public static IEnumerable<ConfigProblem> Check(WebhookConfig config, bool allowPrivateNetworks)
    {
        if (!string.IsNullOrWhiteSpace(config.Url) && UrlProblem(config.Url.Trim(), allowPrivateNetworks) is { } url)
        {
            yield return new ConfigProblem("url", url);
        }

        if (config.TimeoutSeconds is < WebhookConfig.MinTimeoutSeconds or > WebhookConfig.MaxTimeoutSeconds)
        {
            yield return new ConfigProblem("timeout_seconds",
                $"must be between {WebhookConfig.MinTimeoutSeconds} and {WebhookConfig.MaxTimeoutSeconds}, got {config.TimeoutSeconds}");
        }

        foreach (var (name, value) in config.Headers ?? [])
        {
            if (OutboundHeaders.Problem(name, value, "webhook-") is { } header)
            {
                yield return new ConfigProblem("headers." + name, header);
            }
        }

        if (!string.IsNullOrEmpty(config.Secret) && !DecodesAsKey(config.Secret))
        {
            yield return new ConfigProblem("secret", "starts with whsec_ but the rest is not a base64 key");
        }
    }

    /// <summary>A problem as a run's failure reason: <c>header 'Host' cannot be set: ...</c>, <c>url must be ...</c>.</summary>
    public static string Describe(ConfigProblem problem) =>
        problem.Field.StartsWith("headers.", StringComparison.Ordinal)
            ? $"header '{problem.Field["headers.".Length..]}' {problem.Message}"
            : $"{problem.Field} {problem.Message}";

    private static string? UrlProblem(string url, bool allowPrivateNetworks) => OutboundUrl.Problem(url, allowPrivateNetworks, "webhooks");

    private static bool DecodesAsKey(string secret)
    {
        try
        {
            WebhookSignature.DecodeKey(secret);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
