using System.Text;
using System.Text.Json;

namespace Actionflow.Messaging;

/// <summary>Outbox rows keep headers as a JSON object of strings.</summary>
internal static class HeaderJson
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, string> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return Empty;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Empty;
            }

            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        headers[property.Name] = property.Value.GetString()!;
                        break;
                    case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                        headers[property.Name] = property.Value.GetRawText();
                        break;
                }
            }

            return headers;
        }
        catch (JsonException)
        {
            return Empty;
        }
    }

    public static string? Serialize(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return null;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
