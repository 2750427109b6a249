using System.Text.Json.Nodes;
using Actionflow.Actions.Email;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Actionflow.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

public sealed class EmailActionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static ActionTester<EmailAction> Tester(bool allowPrivateNetworks = true) => new(s => s.AddBuiltInActions(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Actionflow:Webhooks:AllowPrivateNetworks"] = allowPrivateNetworks ? "true" : "false",
        }).Build()));

    private static TestEvent Completed(JsonObject previous) => new()
    {
        Kind = EventKinds.ActionCompleted, Id = 77, FileId = 55, ActionId = 9, WorkflowId = 1, ExtraMetadata = previous,
    };

    private static List<ConfigProblem> Problems(JsonObject config, bool allowPrivateNetworks = true)
    {
        using var services = TestHelpers.CreateServices(allowPrivateNetworks);
        var runner = services.GetRequiredService<EmailAction>();
        return runner.ValidateConfig(System.Text.Json.JsonSerializer.Deserialize<EmailConfig>(config, Core.Json.JsonDefaults.SnakeCase)!).ToList();
    }

    private static JsonObject Config(int port, Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["host"] = "127.0.0.1", ["port"] = port, ["security"] = "none",
            ["from"] = "Actionflow <flows@example.com>", ["to"] = "labelers@example.com", ["subject"] = "File {{ event.file_id }}",
            ["text_body"] = "Event {{ event.id }}",
        };
        change?.Invoke(config);
        return config;
    }

    [Fact]
    public async Task Template_ConfigSchema_PublishesRequiredFieldsSecurityPatternAndSecretPassword()
    {
        await using var tester = Tester();
        var schema = tester.Template.ConfigSchema;
        var required = schema["required"]!.AsArray().Select(n => (string?)n).ToList();
        Assert.Contains("host", required);
        Assert.Contains("from", required);
        Assert.Contains("to", required);
        Assert.Contains("subject", required);
        Assert.Equal("^(starttls|tls|none)$", (string?)schema["properties"]!["security"]!["pattern"]);
        Assert.True((bool)schema["properties"]!["password"]!["writeOnly"]!);
        Assert.Equal(65535, (int)schema["properties"]!["port"]!["maximum"]!);
    }

    [Theory]
    [InlineData("""{"host": "smtp.example.com", "from": "not an address", "to": "a@example.com", "subject": "s", "text_body": "b"}""", "from")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com, b@example.com", "to": "a@example.com", "subject": "s", "text_body": "b"}""", "from")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com", "to": "{{ previous.owner ", "subject": "s", "text_body": "b"}""", "to")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com", "to": "a@example.com", "cc": "nobody", "subject": "s", "text_body": "b"}""", "cc")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com", "to": "a@example.com", "subject": "{{ nope }}", "text_body": "b"}""", "subject")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com", "to": "a@example.com", "subject": "s", "html_body": "{% if %}"}""", "html_body")]
    [InlineData("""{"host": "smtp.example.com", "from": "a@example.com", "to": "a@example.com", "subject": "s", "text_body": "b", "password": "x"}""", "user")]
    [InlineData("""{"host": "smtp example", "from": "a@example.com", "to": "a@example.com", "subject": "s", "text_body": "b"}""", "host")]
    public void ValidateConfig_Invalid_NamesTheField(string config, string field)
    {
        var problems = Problems(JsonNode.Parse(config)!.AsObject());
        Assert.Contains(problems, p => p.Field == field);
    }

    [Fact]
    public void ValidateConfig_LoopbackHostWithoutPrivateNetworks_RefusedWithTheSetting()
    {
        var problem = Assert.Single(Problems(Config(25), allowPrivateNetworks: false));
        Assert.Equal("host", problem.Field);
        Assert.Contains("Actionflow__Webhooks__AllowPrivateNetworks", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateConfig_TemplatesAndSecretReference_NoProblem()
    {
        Assert.Empty(Problems(Config(587, c =>
        {
            c["host"] = "smtp.example.com";
            c["to"] = "{{ previous.owner_email }}, team@example.com";
            c["user"] = "flows";
            c["password"] = "{{ secrets.SMTP_PASSWORD }}";
            c["html_body"] = "<p>{{ previous.label }}</p>";
        })));
    }

    [Fact]
    public async Task ExecuteAsync_RealSmtpServer_MessageArrivesWithRenderedHeadersBodiesRecipientsAndLogin()
    {
        await using var smtp = await SmtpSink.StartAsync("flows", "s3cret-pw");
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(smtp.Port, c =>
        {
            c["user"] = "flows";
            c["password"] = "s3cret-pw";
            c["to"] = "{{ previous.owner }}, labelers@example.com";
            c["cc"] = "audit@example.com";
            c["subject"] = "File {{ event.file_id }} is {{ previous.label }}";
            c["text_body"] = "Label: {{ previous.label }}";
            c["html_body"] = "<p>Label <b>{{ previous.label }}</b></p>";
        }), Completed(new JsonObject { ["label"] = "cat & <dog>", ["owner"] = "Ann <ann@example.com>" }), new TestStep { RunId = 4242 });

        Assert.True(result.Succeeded, result.FailureReason);
        var mail = Assert.Single(await smtp.WaitForAsync(1, Patience));
        Assert.Equal("flows@example.com", mail.MailFrom);
        Assert.Equal(["ann@example.com", "labelers@example.com", "audit@example.com"], mail.RcptTos);
        Assert.Equal("flows", mail.Login);
        Assert.Equal("File 55 is cat & <dog>", mail.Message.Subject);
        Assert.Equal("\"Actionflow\" <flows@example.com>", mail.Message.From.ToString());
        Assert.Equal("\"Ann\" <ann@example.com>, labelers@example.com", mail.Message.To.ToString());
        Assert.Equal("audit@example.com", mail.Message.Cc.ToString());
        Assert.Equal("actionflow-run-4242@example.com", mail.Message.MessageId);
        Assert.Equal("Label: cat & <dog>", mail.Message.TextBody?.Trim());
        Assert.Equal("<p>Label <b>cat &amp; &lt;dog&gt;</b></p>", mail.Message.HtmlBody?.Trim());
        Assert.Equal("actionflow-run-4242@example.com", (string?)result.Output["message_id"]);
        Assert.Equal("""["ann@example.com","labelers@example.com"]""", result.Output["to"]!.ToJsonString());
        Assert.StartsWith("Message accepted", (string?)result.Output["response"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_UnknownRecipient550_FinalFailureNamingTheRecipient()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(smtp.Port, c => c["to"] = "unknown.person@example.com"), Completed([]));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.False(result.IsRetryable);
        Assert.Contains("refused the recipient unknown.person@example.com: 550", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task ExecuteAsync_Busy451_RetryableFailure()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(smtp.Port, c => c["to"] = "busy@example.com"), Completed([]));

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Contains(": 451", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_WrongPassword_FinalFailureAboutTheLoginWithoutThePassword()
    {
        await using var smtp = await SmtpSink.StartAsync("flows", "right-pw");
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(smtp.Port, c => { c["user"] = "flows"; c["password"] = "wrong-pw-1234"; }), Completed([]));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains("refused the login of flows", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-pw-1234", result.FailureReason + result.Output.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task ExecuteAsync_StartTlsRequiredButNotOffered_FinalFailureNothingSentInClear()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(smtp.Port, c => c["security"] = "starttls"), Completed([]));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains("STARTTLS", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task ExecuteAsync_NothingListening_RetryableFailure()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(port), Completed([]));

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Contains($"could not talk to the SMTP server 127.0.0.1:{port}", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_NoBody_FinalFailureSayingSo()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(25, c => c.Remove("text_body")), Completed([]));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Equal("text_body or html_body is required: an email needs a body", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_RecipientTemplateRendersEmpty_FinalFailure()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(25, c => c["to"] = "{{ previous.owner }}"), Completed(new JsonObject { ["owner"] = "" }));

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Equal("to is not a list of email addresses once rendered", result.FailureReason);
    }
}
