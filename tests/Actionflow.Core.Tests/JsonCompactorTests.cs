using System.Text.Json.Nodes;
using Actionflow.Core.Json;

namespace Actionflow.Core.Tests;

public sealed class JsonCompactorTests
{
    [Theory]
    [InlineData("{}")]
    [InlineData("""{"event_name": "input_file_uploaded"}""")]
    [InlineData("""{"a": 1, "b": -2.5, "c": true, "d": false, "e": null, "f": "x", "g": [1, "two", [3], {"h": 4}], "i": {"j": {"k": "deep"}}}""")]
    [InlineData("""{"big": 12345678901234567890, "exp": 1e3, "text": "caf\u00e9 \"quoted\""}""")]
    public void Compact_ParsedObject_SameContent(string json)
    {
        var source = JsonNode.Parse(json)!.AsObject();

        var compact = new JsonCompactor().Compact(source);

        Assert.NotSame(source, compact);
        Assert.True(JsonNode.DeepEquals(source, compact), compact.ToJsonString());
    }

    [Fact]
    public void Compact_TwoTreesOfOneLoad_ShareNamesAndStrings()
    {
        var compactor = new JsonCompactor();

        var first = compactor.Compact(JsonNode.Parse("""{"event_name": "task_completed", "scope": {"event_name": "task_completed"}}""")!.AsObject());
        var second = compactor.Compact(JsonNode.Parse("""{"event_name": "task_completed"}""")!.AsObject());

        Assert.Same(first.First().Key, second.Single().Key);
        Assert.Same(first["event_name"]!.GetValue<string>(), second["event_name"]!.GetValue<string>());
        Assert.Same(first["event_name"]!.GetValue<string>(), first["scope"]!["event_name"]!.GetValue<string>());
        Assert.Same(compactor.Share(new string('k', 3)), compactor.Share("kkk"));
    }

    [Fact]
    public void Compact_Numbers_ReadAsAnyNumericTypeAsBefore()
    {
        var compact = new JsonCompactor().Compact(JsonNode.Parse("""{"attempts": 3, "factor": 1.5}""")!.AsObject());

        Assert.Equal(3, compact["attempts"]!.GetValue<int>());
        Assert.Equal(3L, compact["attempts"]!.GetValue<long>());
        Assert.Equal(1.5m, compact["factor"]!.GetValue<decimal>());
        Assert.True(JsonNodes.TryGetInt64(compact["attempts"], out var attempts) && attempts == 3);
    }

    [Fact]
    public void Compact_Null_IsNull() => Assert.Null(new JsonCompactor().Compact(null));

    [Fact]
    public void Intern_EqualValuesOfOneLoad_OneInstanceWithTheirContent()
    {
        var compactor = new JsonCompactor();

        var first = compactor.Intern(JsonNode.Parse("""{"event_name": "task_completed", "scope": {"n": 1}}""")!.AsObject());
        var second = compactor.Intern(JsonNode.Parse("""{"event_name":"task_completed","scope":{"n":1}}""")!.AsObject());
        var other = compactor.Intern(JsonNode.Parse("""{"event_name": "task_created", "scope": {"n": 1}}""")!.AsObject());
        var empty = compactor.Intern(new JsonObject());

        Assert.Same(first, second);
        Assert.NotSame(first, other);
        Assert.Same(empty, compactor.Intern(JsonNode.Parse("{}")!.AsObject()));
        Assert.Empty(empty);
        Assert.Equal("task_created", other["event_name"]!.GetValue<string>());
        Assert.Equal(1, second["scope"]!["n"]!.GetValue<int>());
    }

    [Fact]
    public void Intern_EqualNestedObjectsUnderDifferentRoots_EachRootKeepsItsOwnChild()
    {
        var compactor = new JsonCompactor();

        // A node has one parent: sharing stops at the roots, or building the second tree would throw.
        var first = compactor.Intern(JsonNode.Parse("""{"a": {"x": [1]}}""")!.AsObject());
        var second = compactor.Intern(JsonNode.Parse("""{"b": {"x": [1]}}""")!.AsObject());

        Assert.NotSame(first["a"], second["b"]);
        Assert.Same(first, first["a"]!.Parent);
        Assert.Same(second, second["b"]!.Parent);
    }

    [Fact]
    public void Intern_LongValue_CompactedButNotShared()
    {
        var compactor = new JsonCompactor();
        var json = new JsonObject { ["script"] = new string('x', 2000) }.ToJsonString();

        var first = compactor.Intern(JsonNode.Parse(json)!.AsObject());
        var second = compactor.Intern(JsonNode.Parse(json)!.AsObject());

        Assert.NotSame(first, second);
        Assert.True(JsonNode.DeepEquals(first, second));
        Assert.Equal(json, first.ToJsonString());
    }

    [Fact]
    public void Intern_SeparateLoads_DoNotShare()
    {
        var source = JsonNode.Parse("""{"event_name": "task_completed"}""")!.AsObject();

        Assert.NotSame(new JsonCompactor().Intern(source), new JsonCompactor().Intern(source));
        Assert.Null(new JsonCompactor().Intern(null));
    }
}
