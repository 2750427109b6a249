using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Templating;
using Actionflow.Actions.Webhook;
using Actionflow.Sdk;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Actionflow.Actions.Email;

/// <summary>
/// Sends an email through an SMTP server (MailKit): sender, recipients, subject and text/HTML bodies from templates,
/// the login's password from the secrets store. The server is reached through the same guard as outgoing HTTP (no
/// private networks unless allowed, every resolved address vetted). A 4xx reply or a broken connection is retried, a
/// 5xx reply (unknown recipient, refused login, message rejected) is final.
/// </summary>
[ActionTemplate(KindName, "Email", "Sends an email through an SMTP server, with templated recipients, subject and bodies.", Category = "notification",
    Icon = "mail",
    Triggers =
    [
        EventKinds.InputFileUploaded, EventKinds.ActionCompleted, EventKinds.TaskCreated, EventKinds.TaskCompleted, EventKinds.TaskReviewStart,
        EventKinds.TaskRequestChanges, EventKinds.TaskReviewComplete, EventKinds.TaskInProgress, EventKinds.TaskCommentCreated,
        EventKinds.TaskTemplateCompleted, EventKinds.FileCopy, EventKinds.FileMove, EventKinds.FileMirror, EventKinds.ManualTrigger, EventKinds.TimeTrigger,
        EventKinds.ExportGenerateSuccess,
    ])]
public sealed class EmailAction(IOptions<WebhookOptions> options, HostAddresses hostAddresses, TimeProvider timeProvider) : ActionRunner<EmailConfig>
{
    public const string KindName = "email";

    public override IEnumerable<ConfigProblem> ValidateConfig(EmailConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.IsNullOrWhiteSpace(config.Host) && OutboundUrl.HostProblem(config.Host.Trim(), options.Value.AllowPrivateNetworks) is { } hostProblem)
        {
            yield return new ConfigProblem("host", hostProblem);
        }

        foreach (var (field, text, single) in new[] { ("from", config.From, true), ("to", config.To, false), ("cc", config.Cc, false) })
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var problem = LiquidTemplates.IsTemplate(text) ? LiquidTemplates.Problem(text) : AddressProblem(text, single);
            if (problem is not null)
            {
                yield return new ConfigProblem(field, problem);
            }
        }

        foreach (var (field, text) in new[] { ("subject", config.Subject), ("text_body", config.TextBody), ("html_body", config.HtmlBody) })
        {
            if (LiquidTemplates.Problem(text) is { } problem)
            {
                yield return new ConfigProblem(field, problem);
            }
        }

        if (!string.IsNullOrEmpty(config.Password) && string.IsNullOrWhiteSpace(config.User))
        {
            yield return new ConfigProblem("user", "is required when a password is given");
        }
    }

    public override async ValueTask<ActionResult> ExecuteAsync(ActionContext<EmailConfig> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.Config;
        if (ValidateConfig(config).FirstOrDefault() is { Field: not null } invalid)
        {
            return ActionResult.Failure($"{invalid.Field} {invalid.Message}");
        }

        // Checked here rather than at save, where a step is first added with an empty config and filled in after.
        if (string.IsNullOrWhiteSpace(config.TextBody) && string.IsNullOrWhiteSpace(config.HtmlBody))
        {
            return ActionResult.Failure("text_body or html_body is required: an email needs a body");
        }

        MimeMessage message;
        try
        {
            message = Compose(config, LiquidTemplates.ModelOf(context), context.Run.Id);
        }
        catch (TemplateException ex)
        {
            return ActionResult.Failure(ex.Message);
        }
        catch (InvalidAddressException ex)
        {
            return ActionResult.Failure(ex.Message);
        }

        var host = config.Host.Trim();
        var server = $"{host}:{config.Port}";
        var output = new JsonObject
        {
            ["message_id"] = message.MessageId,
            ["server"] = server,
            ["from"] = message.From.ToString(),
            ["to"] = new JsonArray([.. message.To.Mailboxes.Select(m => JsonValue.Create(m.Address))]),
            ["cc"] = new JsonArray([.. message.Cc.Mailboxes.Select(m => JsonValue.Create(m.Address))]),
            ["subject"] = message.Subject,
        };

        var result = await SendAsync(config, host, message, output, cancellationToken);
        if (result.Succeeded)
        {
            EmailLog.Sent(context.Logger, context.Action.Id, context.Run.Id, host, config.Port, message.To.Count + message.Cc.Count);
        }
        else
        {
            EmailLog.NotSent(context.Logger, context.Action.Id, context.Run.Id, host, config.Port, result.IsRetryable ? "retryable failure" : "failure");
        }

        return result;
    }

    /// <summary>The message the config describes for this run; its Message-Id is the run's, the same on every attempt.</summary>
    internal MimeMessage Compose(EmailConfig config, TemplateModel model, long runId)
    {
        var from = Addresses("from", LiquidTemplates.Render("from", config.From, model));
        if (from.Mailboxes.Count() != 1)
        {
            throw new InvalidAddressException("from must be one address");
        }

        var to = Addresses("to", LiquidTemplates.Render("to", config.To, model));
        if (to.Count == 0)
        {
            throw new InvalidAddressException("to has no address once rendered");
        }

        var cc = string.IsNullOrWhiteSpace(config.Cc) ? [] : Addresses("cc", LiquidTemplates.Render("cc", config.Cc, model));
        var body = new BodyBuilder
        {
            TextBody = string.IsNullOrWhiteSpace(config.TextBody) ? null : LiquidTemplates.Render("text_body", config.TextBody, model),
            HtmlBody = string.IsNullOrWhiteSpace(config.HtmlBody) ? null : LiquidTemplates.Render("html_body", config.HtmlBody, model, html: true),
        };
        var sender = from.Mailboxes.Single();
        var message = new MimeMessage
        {
            Subject = LiquidTemplates.Render("subject", config.Subject, model).ReplaceLineEndings(" "),
            Date = timeProvider.GetUtcNow(),
            // A retry after a connection broke mid-send may deliver twice; one Message-Id lets mail systems drop the copy.
            MessageId = $"actionflow-run-{runId}@{(sender.Domain is { Length: > 0 } domain ? domain : "actionflow.local")}",
            Body = body.ToMessageBody(),
        };
        message.From.Add(sender);
        message.To.AddRange(to);
        message.Cc.AddRange(cc);
        return message;
    }

    private async Task<ActionResult> SendAsync(EmailConfig config, string host, MimeMessage message, JsonObject output, CancellationToken cancellationToken)
    {
        var server = $"{host}:{config.Port}";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(config.TimeoutSeconds), timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var client = new SmtpClient { Timeout = config.TimeoutSeconds * 1000 };
        Stream? stream = null;
        try
        {
            stream = await WebhookNetworkGuard.ConnectAsync(new DnsEndPoint(host, config.Port), options.Value.AllowPrivateNetworks, hostAddresses, linked.Token);
            await client.ConnectAsync(stream, host, config.Port, Security(config.Security), linked.Token);
            if (!string.IsNullOrWhiteSpace(config.User))
            {
                await client.AuthenticateAsync(config.User, config.Password ?? "", linked.Token);
            }

            output["response"] = await client.SendAsync(message, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ActionResult.RetryableFailure($"timed out after {config.TimeoutSeconds}s talking to the SMTP server {server}", null, output);
        }
        catch (WebhookAddressRefusedException ex)
        {
            return ActionResult.Failure($"{ex.Host} resolves to {ex.Block}, which actions may not reach; {OutboundUrl.AllowSetting}", output);
        }
        catch (SmtpCommandException ex)
        {
            var code = (int)ex.StatusCode;
            var what = ex.ErrorCode switch
            {
                SmtpErrorCode.RecipientNotAccepted => $"the recipient {ex.Mailbox?.Address}",
                SmtpErrorCode.SenderNotAccepted => $"the sender {ex.Mailbox?.Address}",
                SmtpErrorCode.MessageNotAccepted => "the message",
                _ => "the command",
            };
            var reason = $"the SMTP server {server} refused {what}: {code} {ex.Message}";
            output["smtp_status"] = code;
            return code is >= 400 and < 500 ? ActionResult.RetryableFailure(reason, null, output) : ActionResult.Failure(reason, output);
        }
        catch (AuthenticationException ex)
        {
            return ActionResult.Failure($"the SMTP server {server} refused the login of {config.User}: {ex.Message}", output);
        }
        catch (SslHandshakeException ex)
        {
            return ActionResult.Failure($"no TLS with the SMTP server {server}: {ex.Message.Split('\n')[0].Trim()}", output);
        }
        catch (NotSupportedException ex)
        {
            // e.g. security starttls against a server that does not offer STARTTLS: sending in clear text instead is not ours to choose.
            return ActionResult.Failure($"the SMTP server {server}: {ex.Message}", output);
        }
        catch (Exception ex) when (ex is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException)
        {
            return ActionResult.RetryableFailure($"could not talk to the SMTP server {server}: {OutboundHttp.Describe(ex)}", null, output);
        }
        finally
        {
            // The client owns the connection once connected; before that, it is ours to close.
            if (!client.IsConnected && stream is not null)
            {
                await stream.DisposeAsync();
            }
        }

        try
        {
            await client.DisconnectAsync(quit: true, linked.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or SmtpProtocolException or SmtpCommandException)
        {
            // The server has accepted the message; a QUIT it does not answer must not make the run send it again.
        }

        return ActionResult.Success(output);
    }

    private static SecureSocketOptions Security(string security) => security switch
    {
        "tls" => SecureSocketOptions.SslOnConnect,
        "none" => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTls,
    };

    private static InternetAddressList Addresses(string field, string text)
    {
        if (!InternetAddressList.TryParse(text, out var list) || list.Mailboxes.Any(m => !m.Address.Contains('@', StringComparison.Ordinal)))
        {
            throw new InvalidAddressException($"{field} is not a list of email addresses once rendered");
        }

        return list;
    }

    private static string? AddressProblem(string text, bool single) =>
        !InternetAddressList.TryParse(text, out var list) || list.Count == 0 || list.Mailboxes.Any(m => !m.Address.Contains('@', StringComparison.Ordinal))
            ? (single ? "is not an email address" : "is not a comma-separated list of email addresses")
            : single && list.Mailboxes.Count() != 1 ? "must be one address" : null;

    private sealed class InvalidAddressException(string message) : Exception(message);
}
