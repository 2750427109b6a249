using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Actionflow.Core.Json;

public static class JsonDefaults
{
    /// <summary>snake_case, as Diffgram's JSON is; used for config_data and outputs.</summary>
    public static JsonSerializerOptions SnakeCase { get; } = CreateSnakeCase();

    private static JsonSerializerOptions CreateSnakeCase()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }
}
