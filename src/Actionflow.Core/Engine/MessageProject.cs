using System.Text.Json;

namespace Actionflow.Core.Engine;

/// <summary>Reads <c>project_id</c> from a message body, for scoping dead letters; null when the body has none.</summary>
public static class MessageProject
{
    public static long? TryRead(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isProject = reader.ValueTextEquals("project_id"u8);
                reader.Read();
                if (isProject)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var id) && id > 0 ? id : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
