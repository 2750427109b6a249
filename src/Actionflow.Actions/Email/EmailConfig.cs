using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Actionflow.Sdk;

namespace Actionflow.Actions.Email;

/// <summary>The <c>config_data</c> of an <c>email</c> step. Addresses, subject and bodies are Liquid templates over <c>event</c> and <c>previous</c>.</summary>
public sealed class EmailConfig
{
    public const int MinTimeoutSeconds = 1;
    public const int MaxTimeoutSeconds = 300;

    [Required]
    [Description("The SMTP server's host name or IP address.")]
    public string Host { get; set; } = "";

    [Range(1, 65535)]
    [Description("The SMTP server's port: 587 (submission, STARTTLS, the default), 465 (implicit TLS) or 25.")]
    public int Port { get; set; } = 587;

    [RegularExpression("^(starttls|tls|none)$")]
    [Description("starttls (upgrade the connection, required: the default), tls (TLS from the first byte, port 465) or none (clear text; only for a relay on a trusted network).")]
    public string Security { get; set; } = "starttls";

    [Description("The user to log in as; no login when left out.")]
    public string? User { get; set; }

    [Secret]
    [Description("The password: a secret reference such as {{ secrets.SMTP_PASSWORD }} (a value typed here is stored sealed and shown as \"********\").")]
    public string? Password { get; set; }

    [Required]
    [Description("The sender, e.g. Actionflow <workflows@example.com> (a template).")]
    public string From { get; set; } = "";

    [Required]
    [Description("Recipients, comma-separated (a template), e.g. labelers@example.com, {{ previous.owner_email }}.")]
    public string To { get; set; } = "";

    [Description("Copy recipients, comma-separated (a template).")]
    public string? Cc { get; set; }

    [Required]
    [Description("The subject (a template), e.g. File {{ event.file_id }} is {{ previous.applied_option_label }}.")]
    public string Subject { get; set; } = "";

    [Description("The plain-text body (a template). At least one of text_body and html_body.")]
    public string? TextBody { get; set; }

    [Description("The HTML body (a template; values are HTML-encoded). Sent with text_body as alternatives when both are given.")]
    public string? HtmlBody { get; set; }

    [Range(MinTimeoutSeconds, MaxTimeoutSeconds)]
    [Description("Seconds the whole exchange with the server may take, from 1 to 300 (default 30).")]
    public int TimeoutSeconds { get; set; } = 30;
}
