using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Storage.Conversions;

namespace Actionflow.Storage.Tests;

public sealed class JsonObjectConverterTests
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"a\":1,\"b\":\"é <tag> \\\"q\\\"\",\"c\":[true,null,{\"d\":1.5}]}")]
    [InlineData("{\"escaped\":\"\\u00e9\\n\",\"n\":-12}")]
    public void ToJson_AnyObject_IsWhatToJsonStringWrites(string json)
    {
        var parsed = JsonNode.Parse(json)!.AsObject();
        var built = new JsonObject { ["x"] = JsonNode.Parse(json), ["y"] = "ü" };

        Assert.Equal(parsed.ToJsonString(Relaxed), JsonObjectConverter.ToJson(parsed));
        Assert.Equal(built.ToJsonString(Relaxed), JsonObjectConverter.ToJson(built));
    }

    [Fact]
    public void ToJson_LargeThenSmall_EachIsWhole()
    {
        var large = new JsonObject { ["big"] = new string('x', 100_000) };
        var small = new JsonObject { ["a"] = 1 };

        Assert.Equal(large.ToJsonString(Relaxed), JsonObjectConverter.ToJson(large));
        Assert.Equal("{\"a\":1}", JsonObjectConverter.ToJson(small));
        Assert.Equal("{\"a\":1}", JsonObjectConverter.ToJson(small));
    }

    [Fact]
    public void ToJson_ManyThreads_NoneSeesAnothersText()
    {
        var results = new string[64];
        Parallel.For(0, results.Length, i => results[i] = JsonObjectConverter.ToJson(new JsonObject { ["i"] = i, ["pad"] = new string('p', i * 50) }));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i, (int)JsonNode.Parse(results[i])!["i"]!);
        }
    }
}
