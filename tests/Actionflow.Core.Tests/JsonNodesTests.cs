using System.Text.Json.Nodes;
using Actionflow.Core.Json;

namespace Actionflow.Core.Tests;

public sealed class JsonNodesTests
{
    [Fact]
    public void EmptyObject_EachIsItsOwn_WhatIsAddedToOneIsInNoOther()
    {
        var first = JsonNodes.EmptyObject();
        var second = JsonNodes.EmptyObject();

        first["a"] = 1;
        first.Add("b", new JsonObject { ["c"] = true });

        Assert.Equal("""{"a":1,"b":{"c":true}}""", first.ToJsonString());
        Assert.Equal("{}", second.ToJsonString());
        Assert.Empty(second);
        Assert.Equal("{}", JsonNodes.EmptyObject().ToJsonString());
    }

    [Fact]
    public void EmptyObject_ClonedThenFilled_TheOriginalStaysEmpty()
    {
        var original = JsonNodes.EmptyObject();
        var clone = original.DeepClone().AsObject();

        clone["x"] = "y";

        Assert.Equal("{}", original.ToJsonString());
        Assert.Equal("""{"x":"y"}""", clone.ToJsonString());
        Assert.True(JsonNode.DeepEquals(original, new JsonObject()));
    }

    [Fact]
    public void EmptyObject_UsedFromManyThreads_EachKeepsOnlyItsOwnKey()
    {
        var results = new string[64];
        Parallel.For(0, results.Length, i =>
        {
            var json = JsonNodes.EmptyObject();
            json["i"] = i;
            results[i] = json.ToJsonString();
        });

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal($$"""{"i":{{i}}}""", results[i]);
        }
    }
}
