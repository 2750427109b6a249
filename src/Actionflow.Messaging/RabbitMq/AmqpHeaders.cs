using System.Globalization;
using System.Text;
using RabbitMQ.Client;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>AMQP header tables to and from the string headers of the transport contract.</summary>
internal static class AmqpHeaders
{
    public const string QuorumDeliveryCount = "x-delivery-count";

    /// <summary>
    /// String-like values as strings (RabbitMQ.Client hands strings over as byte[]); tables and arrays are dropped. The
    /// map converts the table when first read: most deliveries' headers (a quorum queue's delivery count) are never read
    /// as strings, only when a message is dead-lettered or archived.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ToStrings(IDictionary<string, object?>? headers) =>
        headers is null || headers.Count == 0
            // Most deliveries carry no headers: one shared empty map instead of a dictionary per message.
            ? System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty
            : new LazyStrings(headers);

    private static Dictionary<string, string> Convert(IDictionary<string, object?> headers)
    {
        var result = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);

        foreach (var (name, value) in headers)
        {
            var text = value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                string s => s,
                bool b => b ? "true" : "false",
                AmqpTimestamp timestamp => timestamp.UnixTime.ToString(CultureInfo.InvariantCulture),
                IFormattable number and (sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal)
                    => number.ToString(null, CultureInfo.InvariantCulture),
                _ => null,
            };
            if (text is not null)
            {
                result[name] = text;
            }
        }

        return result;
    }

    /// <summary>The delivery's header table as strings, converted once, on first read (RabbitMQ.Client does not reuse the table).</summary>
    private sealed class LazyStrings(IDictionary<string, object?> headers) : IReadOnlyDictionary<string, string>
    {
        private Dictionary<string, string>? _strings;

        private Dictionary<string, string> Strings => LazyInitializer.EnsureInitialized(ref _strings, () => Convert(headers));

        public string this[string key] => Strings[key];

        public IEnumerable<string> Keys => Strings.Keys;

        public IEnumerable<string> Values => Strings.Values;

        public int Count => Strings.Count;

        public bool ContainsKey(string key) => Strings.ContainsKey(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value) => Strings.TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => Strings.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Deliveries so far including this one: a quorum queue's <c>x-delivery-count</c> + 1; else 2 when redelivered, 1 otherwise.</summary>
    public static int DeliveryCount(IDictionary<string, object?>? headers, bool redelivered)
    {
        if (headers is not null && headers.TryGetValue(QuorumDeliveryCount, out var value))
        {
            long? previous = value switch
            {
                long l => l,
                int i => i,
                short s => s,
                byte b => b,
                ulong ul => (long)Math.Min(ul, int.MaxValue),
                uint ui => ui,
                byte[] bytes when long.TryParse(Encoding.UTF8.GetString(bytes), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => null,
            };
            if (previous is { } count && count >= 0)
            {
                return (int)Math.Min(count + 1, int.MaxValue);
            }
        }

        return redelivered ? 2 : 1;
    }
}
