using System.Diagnostics.CodeAnalysis;
using Actionflow.Core.Abstractions;

namespace Actionflow.Messaging;

/// <summary>Where a logical queue lives on the broker.</summary>
/// <param name="LogicalQueue">One of <see cref="QueueNames"/>.</param>
/// <param name="Durable">False only for Diffgram's transient <c>events</c>/<c>event.new</c> in compatible mode.</param>
public sealed record QueueRoute(string LogicalQueue, string Exchange, string RoutingKey, string Queue, bool Durable);

/// <summary>The physical names and kinds resolved from <see cref="MessagingOptions"/>.</summary>
public sealed class MessagingTopology
{
    private static readonly string[] DiffgramExchanges = ["events", "actions", "exports", "jobs", "scheduler"];
    private static readonly string[] DiffgramQueues = ["event.new", "actions.triggers", "job.tasks", "scheduler.tasks"];

    private MessagingTopology(QueueRoute events, QueueRoute actions, string deadLetterExchange, string deadLetterQueue, bool diffgramCompatible, int deliveryLimit)
    {
        Events = events;
        Actions = actions;
        DeadLetterExchange = deadLetterExchange;
        DeadLetterQueue = deadLetterQueue;
        DiffgramCompatible = diffgramCompatible;
        DeliveryLimit = deliveryLimit;
    }

    public QueueRoute Events { get; }
    public QueueRoute Actions { get; }
    public string DeadLetterExchange { get; }
    public string DeadLetterQueue { get; }
    public bool DiffgramCompatible { get; }
    public int DeliveryLimit { get; }

    public IEnumerable<QueueRoute> Routes => [Events, Actions];

    /// <summary>The dead-letter queue, consumed only to archive its messages into the database.</summary>
    public QueueRoute DeadLetters => new(QueueNames.DeadLetters, DeadLetterExchange, "", DeadLetterQueue, Durable: true);

    public static MessagingTopology From(MessagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var compat = options.DiffgramCompatible;
        var actionsExchange = compat && options.ActionsExchange == MessagingOptions.DefaultActionsExchange
            ? MessagingOptions.CompatActionsExchange
            : options.ActionsExchange;
        var actionsQueue = compat && options.ActionsQueue == MessagingOptions.DefaultActionsQueue
            ? MessagingOptions.CompatActionsQueue
            : options.ActionsQueue;
        return new MessagingTopology(
            new QueueRoute(QueueNames.Events, options.EventsExchange, options.EventsRoutingKey, options.EventsQueue, Durable: !compat),
            new QueueRoute(QueueNames.ActionTriggers, actionsExchange, options.ActionsRoutingKey, actionsQueue, Durable: true),
            options.DeadLetterExchange,
            options.DeadLetterQueue,
            compat,
            options.DeliveryLimit);
    }

    /// <summary>The route of a logical queue; throws for a name that is not one of <see cref="QueueNames"/>.</summary>
    public QueueRoute Route(string logicalQueue) => logicalQueue switch
    {
        QueueNames.Events => Events,
        QueueNames.ActionTriggers => Actions,
        QueueNames.DeadLetters => DeadLetters,
        _ => throw new ArgumentException($"'{logicalQueue}' is not a logical queue; use {nameof(QueueNames)}.{nameof(QueueNames.Events)} or {nameof(QueueNames)}.{nameof(QueueNames.ActionTriggers)}.", nameof(logicalQueue)),
    };

    public bool TryRoute(string logicalQueue, [NotNullWhen(true)] out QueueRoute? route)
    {
        route = logicalQueue switch
        {
            QueueNames.Events => Events,
            QueueNames.ActionTriggers => Actions,
            QueueNames.DeadLetters => DeadLetters,
            _ => null,
        };
        return route is not null;
    }

    /// <summary>True when a durable name of ours is one Diffgram declares transient.</summary>
    internal bool ClashesWithDiffgram(out string name)
    {
        foreach (var exchange in new[] { Actions.Exchange, DeadLetterExchange })
        {
            if (DiffgramExchanges.Contains(exchange, StringComparer.Ordinal))
            {
                name = $"exchange '{exchange}'";
                return true;
            }
        }

        foreach (var queue in new[] { Actions.Queue, DeadLetterQueue })
        {
            if (DiffgramQueues.Contains(queue, StringComparer.Ordinal))
            {
                name = $"queue '{queue}'";
                return true;
            }
        }

        name = "";
        return false;
    }
}
