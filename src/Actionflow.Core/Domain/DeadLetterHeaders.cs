namespace Actionflow.Core.Domain;

/// <summary>
/// The message headers a dead letter keeps: Actionflow's own (<c>x-actionflow-</c>: reason, exception type, original
/// queue, deliveries, event, action, attempts) and the broker's account of why it dead-lettered a message
/// (<c>x-first-death-</c>). A client library's bookkeeping, such as RabbitMQ.Client's <c>x-dotnet-pub-seq-no</c>, tells
/// an operator nothing.
/// </summary>
public static class DeadLetterHeaders
{
    public static bool IsMeaningful(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith("x-actionflow-", StringComparison.OrdinalIgnoreCase) || name.StartsWith("x-first-death-", StringComparison.OrdinalIgnoreCase);
    }

    public static IReadOnlyDictionary<string, string> Meaningful(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.Where(h => IsMeaningful(h.Key)).ToDictionary(h => h.Key, h => h.Value, StringComparer.Ordinal);
    }
}
