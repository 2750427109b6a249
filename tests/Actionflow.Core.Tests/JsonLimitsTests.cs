using System.Text.Json.Nodes;
using Actionflow.Core.Json;

namespace Actionflow.Core.Tests;

public sealed class JsonLimitsTests
{
    [Theory]
    [InlineData("1", 0)]
    [InlineData("null", 0)]
    [InlineData("{}", 1)]
    [InlineData("[]", 1)]
    [InlineData("""{"a": 1, "b": [1, 2]}""", 2)]
    [InlineData("""[[], [[{}]], 3]""", 4)]
    public void DepthOf_Document_CountsContainerLevels(string json, int depth)
    {
        Assert.Equal(depth, JsonLimits.DepthOf(JsonNode.Parse(json)));
        Assert.True(JsonLimits.IsWithin(JsonNode.Parse(json), depth));
        Assert.Equal(depth == 0, JsonLimits.IsWithin(JsonNode.Parse(json), depth - 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(JsonLimits.MaxDepth)]
    public void Readable_WithinTheLimit_IsTheSameDocument(int depth)
    {
        var document = Nested(depth);

        Assert.Same(document, JsonLimits.Readable(document));
    }

    [Theory]
    [InlineData(JsonLimits.MaxDepth + 1)]
    [InlineData(60)]
    [InlineData(200)]
    public void Readable_TooDeep_KeepsTheShapeToTheLimitAndTheRestAsItsJsonText(int depth)
    {
        var document = Nested(depth);

        var readable = JsonLimits.Readable(document);

        Assert.Equal(JsonLimits.MaxDepth, JsonLimits.DepthOf(readable));
        JsonNode deepest = readable;
        for (var level = 1; level < JsonLimits.MaxDepth; level++)
        {
            deepest = deepest["a"]!;
        }

        var text = deepest["a"]!.GetValue<string>();
        Assert.Equal(depth - JsonLimits.MaxDepth, JsonLimits.DepthOf(JsonNode.Parse(text, documentOptions: new() { MaxDepth = 1000 })));
        Assert.Equal(1, (int)deepest["n"]!);
        Assert.Equal(depth, JsonLimits.DepthOf(document));
    }

    [Fact]
    public void Readable_TooDeepArrays_CutTheSameWay()
    {
        var document = JsonNode.Parse(new string('[', 40) + new string(']', 40))!;

        var readable = JsonLimits.Readable(document)!;

        Assert.Equal(JsonLimits.MaxDepth, JsonLimits.DepthOf(readable));
        Assert.Null(JsonLimits.Readable((JsonNode?)null));
    }

    /// <summary>{"n": 1, "a": {"n": 1, "a": ...}} nested <paramref name="depth"/> levels.</summary>
    private static JsonObject Nested(int depth)
    {
        var node = new JsonObject { ["n"] = 1 };
        for (var level = 1; level < depth; level++)
        {
            node = new JsonObject { ["n"] = 1, ["a"] = node };
        }

        return node;
    }
}
