using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Messaging.RabbitMq;
using RabbitMQ.Client;
using Xunit;

namespace Actionflow.Messaging.Tests;

public sealed class MessagingOptionsTests
{
    [Fact]
    public void Defaults_NewOptions_MatchDiffgramNamesAndSafeLimits()
    {
        var options = new MessagingOptions();

        Assert.Equal("", options.Broker);
        Assert.Equal(256, options.Concurrency);
        Assert.Equal(2 * options.Concurrency, options.EffectivePrefetch);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ShutdownGracePeriod);
        Assert.Equal(20, options.DeliveryLimit);
        var topology = MessagingTopology.From(options);
        Assert.Equal(new QueueRoute(QueueNames.Events, "events", "events.new", "event.new", true), topology.Events);
        Assert.Equal(new QueueRoute(QueueNames.ActionTriggers, "actions", "actions.new_actions_trigger", "actions.triggers", true), topology.Actions);
        Assert.Equal("actionflow.dead-letter", topology.DeadLetterExchange);
        Assert.Equal("actionflow.dead-letters", topology.DeadLetterQueue);
    }

    [Fact]
    public void From_CompatModeWithDefaultActionNames_MovesActionsToActionflowNames()
    {
        var topology = MessagingTopology.From(new MessagingOptions { DiffgramCompatible = true });

        Assert.Equal(new QueueRoute(QueueNames.Events, "events", "events.new", "event.new", false), topology.Events);
        Assert.Equal(new QueueRoute(QueueNames.ActionTriggers, "actionflow.actions", "actions.new_actions_trigger", "actionflow.actions.triggers", true), topology.Actions);
    }

    [Fact]
    public void From_CompatModeWithOwnActionNames_KeepsThem()
    {
        var topology = MessagingTopology.From(new MessagingOptions { DiffgramCompatible = true, ActionsExchange = "af.actions", ActionsQueue = "af.triggers" });

        Assert.Equal("af.actions", topology.Actions.Exchange);
        Assert.Equal("af.triggers", topology.Actions.Queue);
    }

    [Fact]
    public void Route_NotALogicalQueue_Throws()
    {
        Assert.Throws<ArgumentException>(() => MessagingTopology.From(new MessagingOptions()).Route("event.new"));
    }

    [Fact]
    public void Validate_RabbitMqWithoutBroker_FailsNamingTheEnvironmentVariable()
    {
        var result = new MessagingOptionsValidator(requireBroker: true).Validate(null, new MessagingOptions());

        Assert.True(result.Failed);
        Assert.Contains("Actionflow__Broker", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EmbeddedWithoutBroker_Succeeds()
    {
        Assert.True(new MessagingOptionsValidator(requireBroker: false).Validate(null, new MessagingOptions()).Succeeded);
    }

    [Theory]
    [InlineData("amqp://u:p@rabbitmq:5672/", true)]
    [InlineData("amqps://u:p@rabbitmq/vhost", true)]
    [InlineData("rabbitmq:5672", false)]
    [InlineData("http://rabbitmq/", false)]
    public void Validate_BrokerUri_AcceptsOnlyAmqpSchemes(string broker, bool valid)
    {
        Assert.Equal(valid, new MessagingOptionsValidator(requireBroker: true).Validate(null, new MessagingOptions { Broker = broker }).Succeeded);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Validate_ConcurrencyBelowOne_Fails(int concurrency)
    {
        var result = new MessagingOptionsValidator(requireBroker: false).Validate(null, new MessagingOptions { Concurrency = concurrency });

        Assert.Contains("Concurrency", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CompatModeWithDiffgramNameForDeadLetters_Fails()
    {
        var options = new MessagingOptions { Broker = "amqp://localhost/", DiffgramCompatible = true, DeadLetterExchange = "exports" };

        var result = new MessagingOptionsValidator(requireBroker: true).Validate(null, options);

        Assert.Contains("exports", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void BackoffFor_Deliveries_DoublesUpToTheMaximum()
    {
        var options = new MessagingOptions { RetryBackoff = TimeSpan.FromSeconds(1), MaxRetryBackoff = TimeSpan.FromSeconds(30) };

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], new[] { 1, 2, 3, 4, 5, 6, 40 }.Select(n => options.BackoffFor(n).TotalSeconds));
    }

    [Fact]
    public void ToStrings_AmqpHeaderTable_ConvertsScalarsAndDropsTables()
    {
        var headers = AmqpHeaders.ToStrings(new Dictionary<string, object?>
        {
            ["text"] = Encoding.UTF8.GetBytes("héllo"),
            ["long"] = 42L,
            ["bool"] = true,
            ["time"] = new AmqpTimestamp(1700000000),
            ["x-death"] = new List<object> { new Dictionary<string, object?>() },
            ["null"] = null,
        });

        Assert.Equal(new Dictionary<string, string> { ["text"] = "héllo", ["long"] = "42", ["bool"] = "true", ["time"] = "1700000000" }, headers);
    }

    [Theory]
    [InlineData(null, false, 1)]
    [InlineData(null, true, 2)]
    [InlineData(3L, true, 4)]
    [InlineData(0, false, 1)]
    public void DeliveryCount_QuorumHeader_IsPreviousDeliveriesPlusOne(object? deliveryCount, bool redelivered, int expected)
    {
        var headers = deliveryCount is null ? null : new Dictionary<string, object?> { ["x-delivery-count"] = deliveryCount };

        Assert.Equal(expected, AmqpHeaders.DeliveryCount(headers, redelivered));
    }

    [Fact]
    public void HeaderJson_RoundTrip_KeepsStringHeaders()
    {
        var json = HeaderJson.Serialize(new Dictionary<string, string> { ["a"] = "1", ["b\"c"] = "ü" });

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b\"c"] = "ü" }, HeaderJson.Parse(json));
        Assert.Null(HeaderJson.Serialize(null));
        Assert.Empty(HeaderJson.Parse("not json"));
    }

    [Fact]
    public void Redact_BrokerUri_DropsThePassword()
    {
        Assert.Equal("amqp://user@rabbit:5672/vh", RabbitMqConnection.Redact("amqp://user:secret@rabbit:5672/vh"));
    }
}
