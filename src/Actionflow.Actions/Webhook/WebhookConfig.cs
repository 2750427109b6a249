using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Actionflow.Sdk;

namespace Actionflow.Actions.Webhook;

/// <summary>The <c>config_data</c> of a Webhook action.</summary>
public sealed class WebhookConfig
{
    public const int MinTimeoutSeconds = 1;
    public const int MaxTimeoutSeconds = 300;

    [Required]
    [Description("The absolute http or https URL the event is POSTed to.")]
    public string Url { get; set; } = "";

    [Secret]
    [Description("Extra request headers, e.g. Authorization. Their values are secret: responses show \"********\" and sending that back keeps the stored value. The webhook-* headers, Content-Type, Content-Length, Host and the hop-by-hop and framing headers cannot be set.")]
    public Dictionary<string, string>? Headers { get; init; }

    [Secret]
    [Description("Signing secret (Standard Webhooks). A whsec_ prefix means the rest is the base64 key; otherwise the UTF-8 bytes are the key.")]
    public string? Secret { get; set; }

    [Range(MinTimeoutSeconds, MaxTimeoutSeconds)]
    [Description("Seconds to wait for the whole request, from 1 to 300.")]
    public int TimeoutSeconds { get; set; } = 10;
}
