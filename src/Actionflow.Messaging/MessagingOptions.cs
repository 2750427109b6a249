using Microsoft.Extensions.Options;

namespace Actionflow.Messaging;

/// <summary>
/// Transport settings, bound from the <c>Actionflow</c> configuration section (environment: <c>Actionflow__Broker</c>, ...).
/// </summary>
public sealed class MessagingOptions
{
    public const string DefaultActionsExchange = "actions";
    public const string DefaultActionsQueue = "actions.triggers";
    public const string CompatActionsExchange = "actionflow.actions";
    public const string CompatActionsQueue = "actionflow.actions.triggers";

    /// <summary>AMQP URI of RabbitMQ (<c>amqp://user:pass@host:5672/vhost</c> or <c>amqps://</c>); empty means the embedded transport.</summary>
    public string Broker { get; set; } = "";

    /// <summary>
    /// Share a broker with a running Diffgram: <c>events</c>/<c>event.new</c> are declared exactly as Diffgram's pika
    /// clients declare them (transient), and the actions topology moves to <c>actionflow.*</c> names.
    /// </summary>
    public bool DiffgramCompatible { get; set; }

    /// <summary>
    /// Default of <see cref="Concurrency"/>. Handlers are asynchronous: one waiting on the database or a webhook holds no
    /// thread, and the store commits concurrent handlers' writes together, so more of them mean fewer, larger
    /// transactions. Measured on 2 cores (one-step benchmark): 16 handlers 610 events/s, 64 780, 256 1,110, 1,024 1,110.
    /// </summary>
    public const int DefaultConcurrency = 256;

    /// <summary>Handlers running at once per queue.</summary>
    public int Concurrency { get; set; } = DefaultConcurrency;

    /// <summary>Unacknowledged deliveries per consumer; 0 means twice <see cref="Concurrency"/>.</summary>
    public int Prefetch { get; set; }

    /// <summary>How long a stopping consumer lets in-flight handlers finish before cancelling them (their messages go back).</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the start keeps trying to reach the broker before the process fails.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Pause between reconnect attempts after the broker went away.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a publish waits for the broker's confirm.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First pause before a message whose handler threw is delivered again; doubles per delivery up to <see cref="MaxRetryBackoff"/>.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries after which a message that keeps failing is dead-lettered (quorum queue <c>x-delivery-limit</c>).</summary>
    public int DeliveryLimit { get; set; } = 20;

    /// <summary>Connection name shown in the broker's management UI; empty means <c>actionflow@{machine}</c>.</summary>
    public string ConnectionName { get; set; } = "";

    public string EventsExchange { get; set; } = "events";
    public string EventsQueue { get; set; } = "event.new";
    public string EventsRoutingKey { get; set; } = "events.new";
    public string ActionsExchange { get; set; } = DefaultActionsExchange;
    public string ActionsQueue { get; set; } = DefaultActionsQueue;
    public string ActionsRoutingKey { get; set; } = "actions.new_actions_trigger";
    public string DeadLetterExchange { get; set; } = "actionflow.dead-letter";
    public string DeadLetterQueue { get; set; } = "actionflow.dead-letters";

    internal int EffectivePrefetch => Prefetch > 0 ? Prefetch : Math.Min(ushort.MaxValue, 2 * Math.Max(1, Concurrency));

    internal MessagingOptions CopyTo(MessagingOptions target)
    {
        target.Broker = Broker;
        target.DiffgramCompatible = DiffgramCompatible;
        target.Concurrency = Concurrency;
        target.Prefetch = Prefetch;
        target.ShutdownGracePeriod = ShutdownGracePeriod;
        target.ConnectTimeout = ConnectTimeout;
        target.RecoveryInterval = RecoveryInterval;
        target.PublishTimeout = PublishTimeout;
        target.RetryBackoff = RetryBackoff;
        target.MaxRetryBackoff = MaxRetryBackoff;
        target.DeliveryLimit = DeliveryLimit;
        target.ConnectionName = ConnectionName;
        target.EventsExchange = EventsExchange;
        target.EventsQueue = EventsQueue;
        target.EventsRoutingKey = EventsRoutingKey;
        target.ActionsExchange = ActionsExchange;
        target.ActionsQueue = ActionsQueue;
        target.ActionsRoutingKey = ActionsRoutingKey;
        target.DeadLetterExchange = DeadLetterExchange;
        target.DeadLetterQueue = DeadLetterQueue;
        return target;
    }

    /// <summary>Delay before the next delivery of a message that failed on its <paramref name="deliveryCount"/>th delivery.</summary>
    internal TimeSpan BackoffFor(int deliveryCount)
    {
        var exponent = Math.Clamp(deliveryCount - 1, 0, 20);
        var ticks = RetryBackoff.Ticks * (1L << exponent);
        return TimeSpan.FromTicks(Math.Min(ticks, MaxRetryBackoff.Ticks));
    }
}

/// <summary>Checks <see cref="MessagingOptions"/> when the host starts; <paramref name="requireBroker"/> for the RabbitMQ transport.</summary>
public sealed class MessagingOptionsValidator(bool requireBroker) : IValidateOptions<MessagingOptions>
{
    public ValidateOptionsResult Validate(string? name, MessagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (requireBroker)
        {
            if (string.IsNullOrWhiteSpace(options.Broker))
            {
                errors.Add("Actionflow:Broker (environment variable Actionflow__Broker) is empty but the RabbitMQ transport is configured; set it to an amqp:// or amqps:// URI, e.g. amqp://user:password@rabbitmq:5672/");
            }
            else if (!Uri.TryCreate(options.Broker, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps") || string.IsNullOrEmpty(uri.Host))
            {
                errors.Add("Actionflow:Broker (environment variable Actionflow__Broker) is not an amqp:// or amqps:// URI with a host, e.g. amqp://user:password@rabbitmq:5672/");
            }
        }

        if (options.Concurrency < 1 || options.Concurrency > ushort.MaxValue)
        {
            errors.Add($"Actionflow:Concurrency (Actionflow__Concurrency) must be between 1 and {ushort.MaxValue}, not {options.Concurrency}.");
        }

        if (options.Prefetch < 0 || options.Prefetch > ushort.MaxValue)
        {
            errors.Add($"Actionflow:Prefetch (Actionflow__Prefetch) must be between 0 (twice the concurrency) and {ushort.MaxValue}, not {options.Prefetch}.");
        }

        if (options.DeliveryLimit < 1)
        {
            errors.Add($"Actionflow:DeliveryLimit (Actionflow__DeliveryLimit) must be at least 1, not {options.DeliveryLimit}.");
        }

        Positive(errors, nameof(options.ConnectTimeout), options.ConnectTimeout);
        Positive(errors, nameof(options.RecoveryInterval), options.RecoveryInterval);
        Positive(errors, nameof(options.PublishTimeout), options.PublishTimeout);
        Positive(errors, nameof(options.RetryBackoff), options.RetryBackoff);
        if (options.MaxRetryBackoff < options.RetryBackoff)
        {
            errors.Add("Actionflow:MaxRetryBackoff (Actionflow__MaxRetryBackoff) must not be shorter than Actionflow:RetryBackoff.");
        }

        if (options.ShutdownGracePeriod < TimeSpan.Zero)
        {
            errors.Add("Actionflow:ShutdownGracePeriod (Actionflow__ShutdownGracePeriod) must not be negative.");
        }

        foreach (var (key, value) in new[]
                 {
                     (nameof(options.EventsExchange), options.EventsExchange), (nameof(options.EventsQueue), options.EventsQueue),
                     (nameof(options.EventsRoutingKey), options.EventsRoutingKey), (nameof(options.ActionsExchange), options.ActionsExchange),
                     (nameof(options.ActionsQueue), options.ActionsQueue), (nameof(options.ActionsRoutingKey), options.ActionsRoutingKey),
                     (nameof(options.DeadLetterExchange), options.DeadLetterExchange), (nameof(options.DeadLetterQueue), options.DeadLetterQueue),
                 })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > 255)
            {
                errors.Add($"Actionflow:{key} (Actionflow__{key}) must be a non-empty name of at most 255 characters.");
            }
        }

        if (requireBroker && errors.Count == 0)
        {
            var topology = MessagingTopology.From(options);
            if (options.DiffgramCompatible && topology.ClashesWithDiffgram(out var clash))
            {
                errors.Add($"Actionflow:DiffgramCompatible is on but {clash} is one of Diffgram's transient names; Actionflow would declare it durable and Diffgram's clients would fail with PRECONDITION_FAILED. Choose another name.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"Actionflow:{key} (Actionflow__{key}) must be positive, e.g. 00:00:30.");
        }
    }
}
