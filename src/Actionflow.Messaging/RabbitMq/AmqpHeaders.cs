using System.Globalization;
using System.Text;
using RabbitMQ.Client;

namespace Actionflow.Messaging.RabbitMq;

/// <summary>AMQP header tables to and from the string headers of the transport contract.</summary>
internal static class AmqpHeaders
{
    public const string QuorumDeliveryCount = "x-delivery-count";

    /// <summary>String-like values as strings (RabbitMQ.Client hands strings over as byte[]); tables and arrays are dropped.</summary>
    public static IReadOnlyDictionary<string, string> ToStrings(IDictionary<string, object?>? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            // Most deliveries carry no headers: one shared empty map instead of a dictionary per message.
            return System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;
        }

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
