using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Engine;

namespace Actionflow.Core.Tests;

public sealed class DiffgramEventCodecTests
{
    private static readonly DateTime Now = new(2026, 11, 27, 10, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void TryParse_DiffgramSerializedEvent_ReadsIdsAndKeepsUnknownKeys()
    {
        var body = """
            {"id": 9, "kind": "input_file_uploaded", "project_id": 3, "directory_id": 4, "file_id": 5, "input_id": 6,
             "member_id": null, "time_created": "2024-10-13", "service_name": "walrus", "extra_metadata": {"a": 1}, "custom": [1, 2]}
            """;
        var ev = DiffgramEventCodec.TryParse(Encoding.UTF8.GetBytes(body), Now, out var error);

        Assert.Null(error);
        Assert.NotNull(ev);
        Assert.Equal(("input_file_uploaded", 3L, 4L, 5L, 6L), (ev.Kind, ev.ProjectId, ev.DirectoryId, ev.FileId, ev.InputId));
        Assert.Null(ev.MemberId);
        Assert.Equal("source:9", ev.DedupKey);
        Assert.Equal(1, (int)ev.ExtraMetadata["a"]!);
        Assert.Equal(Now, ev.TimeCreated);
        Assert.Equal("[1,2]", ev.Payload["custom"]!.ToJsonString());
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1} {}", "not valid JSON")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"a\": [1,]}", "not valid JSON")]
    [InlineData("[1] x", "not valid JSON")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("5", "must be a JSON object")]
    [InlineData("{\"project_id\": 1}", "'kind' is required")]
    [InlineData("{\"kind\": \"\", \"project_id\": 1}", "'kind' is required")]
    [InlineData("{\"kind\": 5, \"project_id\": 1}", "'kind' is required")]
    [InlineData("{\"kind\": \"x\"}", "'project_id' is required")]
    [InlineData("{\"kind\": \"x\", \"project_id\": -1}", "'project_id' must be a positive integer")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"file_id\": \"abc\"}", "'file_id' must be a positive integer")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"file_id\": 1.5}", "'file_id' must be a positive integer")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"extra_metadata\": [1]}", "'extra_metadata' must be a JSON object")]
    public void TryParse_InvalidEvent_SaysWhatIsWrong(string body, string expected)
    {
        var ev = DiffgramEventCodec.TryParse(Encoding.UTF8.GetBytes(body), Now, out var error);

        Assert.Null(ev);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_BodyOverLimit_IsRejected()
    {
        var body = new byte[DiffgramEventCodec.MaxBodyBytes + 1];

        Assert.Null(DiffgramEventCodec.TryParse(body, Now, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_NumericStringIds_AreAccepted()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": \"12\"}"u8, Now, out _);

        Assert.Equal(12, ev!.ProjectId);
    }

    [Fact]
    public void ToDiffgramJson_ReceivedEvent_HasDiffgramKeysOurIdAndTheSendersId()
    {
        var ev = DiffgramEventCodec.TryParse("{\"id\": 9, \"kind\": \"task_completed\", \"project_id\": 2, \"task_id\": 3}"u8, Now, out _)!;
        ev.Id = 100;

        var json = DiffgramEventCodec.ToDiffgramJson(ev);

        Assert.Equal(100, (long)json["id"]!);
        Assert.Equal(9, (long)json["source_event_id"]!);
        Assert.Equal(3, (long)json["task_id"]!);
        foreach (var key in new[] { "kind", "project_id", "directory_id", "action_id", "workflow_id", "file_id", "job_id", "member_id", "input_id", "extra_metadata", "time_created", "description", "error_log", "object_type", "page_name", "report_data", "report_template_data", "install_fingerprint", "diffgram_version", "host_os", "storage_backend", "service_name" })
        {
            Assert.True(json.ContainsKey(key), key);
        }
    }

    [Fact]
    public void ToDiffgramJson_DoesNotAliasTheStoredPayload()
    {
        var ev = DiffgramEventCodec.TryRead(new JsonObject { ["kind"] = "x", ["project_id"] = 1 }, Now, out _)!;

        DiffgramEventCodec.ToDiffgramJson(ev)["kind"] = "changed";

        Assert.Equal("x", (string)ev.Payload["kind"]!);
    }

    [Fact]
    public void TryParse_DuplicateKey_IsRejectedAsInvalidJson()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1, \"file_id\": 2, \"file_id\": 3}"u8, Now, out var error);

        Assert.Null(ev);
        Assert.Contains("not valid JSON", error, StringComparison.Ordinal);
        Assert.Contains("'file_id'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_AndTryRead_SameBody_GiveTheSameEvent()
    {
        var body = """
            {"id": "17", "kind": "task_completed", "project_id": 3, "task_id": "8", "job_id": null, "description": {"d": [1, "é"]},
             "error_log": 12, "extra_metadata": {"nested": {"k": [true, null]}}, "custom": "kept"}
            """u8;
        var parsed = DiffgramEventCodec.TryParse(body, Now, out var parseError)!;
        var read = DiffgramEventCodec.TryRead((JsonObject)JsonNode.Parse(body)!, Now, out var readError)!;

        Assert.Null(parseError);
        Assert.Null(readError);
        Assert.Equal(
            (read.Kind, read.ProjectId, read.TaskId, read.JobId, read.Description, read.ErrorLog, read.DedupKey),
            (parsed.Kind, parsed.ProjectId, parsed.TaskId, parsed.JobId, parsed.Description, parsed.ErrorLog, parsed.DedupKey));
        Assert.Equal((8L, "source:17", "12"), (parsed.TaskId!.Value, parsed.DedupKey, parsed.ErrorLog));
        Assert.Equal(read.ExtraMetadata.ToJsonString(), parsed.ExtraMetadata.ToJsonString());
        Assert.Equal(read.Payload.ToJsonString(), parsed.Payload.ToJsonString());
        Assert.Equal(DiffgramEventCodec.ToDiffgramJson(read).ToJsonString(), DiffgramEventCodec.ToDiffgramJson(parsed).ToJsonString());
    }

    [Fact]
    public void TryParse_ExtraMetadata_IsATreeOfItsOwn()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1, \"extra_metadata\": {\"a\": 1}}"u8, Now, out _)!;

        ev.ExtraMetadata["a"] = 2;
        ev.ExtraMetadata["steps"] = new JsonArray();

        Assert.Equal(1, (int)ev.Payload["extra_metadata"]!["a"]!);
        Assert.Equal(2, (int)DiffgramEventCodec.ToDiffgramJson(ev)["extra_metadata"]!["a"]!);
    }

    [Fact]
    public void TryParse_BodyNotUtf8_IsRejected()
    {
        // A lone continuation byte inside a string: the JSON's structure is fine, its text is not UTF-8.
        byte[] body = [.. "{\"kind\": \"x\", \"project_id\": 1, \"name\": \""u8, 0x80, .. "\"}"u8];

        Assert.Null(DiffgramEventCodec.TryParse(body, Now, out var error));
        Assert.Contains("not valid UTF-8", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_DuplicateKeyPastManyKeys_IsRejected()
    {
        // More top-level keys than the scan keeps on the stack, with the repeated one at the end.
        var keys = string.Join(", ", Enumerable.Range(0, 80).Select(i => $"\"k{i}\": {i}"));
        var body = Encoding.UTF8.GetBytes($"{{\"kind\": \"x\", \"project_id\": 1, {keys}, \"k3\": 0}}");

        Assert.Null(DiffgramEventCodec.TryParse(body, Now, out var error));
        Assert.Contains("'k3' appears more than once", error, StringComparison.Ordinal);
        Assert.NotNull(DiffgramEventCodec.TryParse(Encoding.UTF8.GetBytes($"{{\"kind\": \"x\", \"project_id\": 1, {keys}}}"), Now, out _));
    }

    [Fact]
    public void TryParse_KeyWrittenWithAnEscape_IsReadAsTheField()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project\\u005fid\": 4, \"file_id\": \"\\u0037\"}"u8, Now, out var error);

        Assert.Null(error);
        Assert.Equal((4L, 7L), (ev!.ProjectId, ev.FileId!.Value));
    }

    [Fact]
    public void TryParse_KeepsTheBodyAsThePayloadUntilItIsRead()
    {
        var body = "{\"kind\": \"x\",  \"project_id\": 1, \"custom\": {\"deep\": [1, 2]}}"u8.ToArray();
        var ev = DiffgramEventCodec.TryParse(body, Now, out _)!;

        Assert.True(ev.TryGetPayloadUtf8(out var utf8));
        Assert.Equal(body, utf8.ToArray());
        body[2] = (byte)'K';
        Assert.Equal((byte)'k', utf8.Span[2]);

        var payload = ev.Payload;

        Assert.Equal("[1,2]", payload["custom"]!["deep"]!.ToJsonString());
        Assert.Same(payload, ev.Payload);
        // Read, the tree may be changed: from now on it is what the event holds, and a writer writes it.
        Assert.False(ev.TryGetPayloadUtf8(out _));
        payload["added"] = true;
        Assert.True((bool)ev.Payload["added"]!);
    }

    [Theory]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"extra_metadata\": { \"a\" : [1, {\"b\": null}] }}", "{ \"a\" : [1, {\"b\": null}] }")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1, \"extra_metadata\": null}", "{}")]
    [InlineData("{\"kind\": \"x\", \"project_id\": 1}", "{}")]
    public void TryParse_KeepsExtraMetadataAsItsBytesUntilItIsRead(string body, string expected)
    {
        var ev = DiffgramEventCodec.TryParse(Encoding.UTF8.GetBytes(body), Now, out _)!;

        Assert.True(ev.TryGetExtraMetadataUtf8(out var utf8));
        Assert.Equal(expected, Encoding.UTF8.GetString(utf8.Span));

        var extra = ev.ExtraMetadata;

        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), extra.ToJsonString());
        Assert.False(ev.TryGetExtraMetadataUtf8(out _));
        Assert.True(ev.TryGetPayloadUtf8(out _));
    }

    [Fact]
    public async Task Payload_ReadOnSeveralThreadsAtOnce_IsOneTree()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1}"u8, Now, out _)!;
        using var start = new Barrier(8);

        var trees = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return ev.Payload;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

        Assert.All(trees, tree => Assert.Same(trees[0], tree));
    }

    [Fact]
    public void Payload_Set_ReplacesTheBody()
    {
        var ev = DiffgramEventCodec.TryParse("{\"kind\": \"x\", \"project_id\": 1}"u8, Now, out _)!;

        ev.Payload = new JsonObject { ["replaced"] = 1 };

        Assert.False(ev.TryGetPayloadUtf8(out _));
        Assert.Equal("{\"replaced\":1}", ev.Payload.ToJsonString());
    }
}
