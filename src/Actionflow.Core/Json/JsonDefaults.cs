using System.Text.Json;

namespace Actionflow.Core.Json;

public static class JsonDefaults
{
    /// <summary>snake_case, as Diffgram's JSON is; used for config_data and outputs.</summary>
    public static JsonSerializerOptions SnakeCase { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
    };
}
