namespace Actionflow.Actions.Webhook;

/// <summary>Host-wide settings of the Webhook action, bound from <c>Actionflow:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Actionflow:Webhooks";

    /// <summary>
    /// Lets webhooks reach loopback, private, link-local and other non-public addresses. Off by default so a
    /// workflow author cannot make the server call its own network (SSRF); turn on for local development and tests.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }
}
