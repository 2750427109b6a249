using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
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
    public void ToPooledUtf8_RowsOfEverySize_EachSliceIsItsRowsTextAndNullStaysNull()
    {
        // Rows far past the first buffer (256 bytes a row) make it grow while earlier rows are already written.
        JsonObject?[] rows =
        [
            new JsonObject { ["a"] = 1 },
            null,
            JsonNode.Parse("{\"big\":\"" + new string('x', 5_000) + "\",\"é\":\"<ü>\"}")!.AsObject(),
            [],
            new JsonObject { ["nested"] = new JsonObject { ["n"] = new JsonArray(1, 2, 3) } },
            null,
        ];

        var values = new List<ReadOnlyMemory<byte>?>();
        var pooled = JsonObjectConverter.ToPooledUtf8(rows, r => r, values);

        Assert.Equal(rows.Length, values.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i] is null)
            {
                Assert.Null(values[i]);
            }
            else
            {
                Assert.True(MemoryMarshal.TryGetArray(values[i]!.Value, out var segment));
                Assert.Same(pooled, segment.Array);
                Assert.Equal(rows[i]!.ToJsonString(Relaxed), Encoding.UTF8.GetString(values[i]!.Value.Span));
            }
        }

        ArrayPool<byte>.Shared.Return(pooled);
    }

    [Fact]
    public void ToPooledUtf8_AValueTooDeepToWrite_ThrowsAndTheNextCallIsWhole()
    {
        var deep = new JsonObject();
        var inner = deep;
        for (var i = 0; i < 70; i++)
        {
            var next = new JsonObject();
            inner["d"] = next;
            inner = next;
        }

        var values = new List<ReadOnlyMemory<byte>?>();
        Assert.ThrowsAny<InvalidOperationException>(() => JsonObjectConverter.ToPooledUtf8([new JsonObject { ["a"] = 1 }, deep], r => r, values));
        Assert.Empty(values);

        var pooled = JsonObjectConverter.ToPooledUtf8([new JsonObject { ["b"] = 2 }], r => r, values);
        Assert.Equal("{\"b\":2}", Encoding.UTF8.GetString(Assert.Single(values)!.Value.Span));
        ArrayPool<byte>.Shared.Return(pooled);
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
