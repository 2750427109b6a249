using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Actionflow.Core.Secrets;
using BenchmarkDotNet.Attributes;

namespace Actionflow.Bench.Micro;

/// <summary>
/// Once per run (issue 17, round 4): what a step's start allocates besides the runner, before (the code as it was, kept
/// here as the baseline) and after (the engine's code, or for the SDK's internal config read its same steps).
/// </summary>
[MemoryDiagnoser]
public class PerRunAllocations
{
    private static readonly JsonSerializerOptions Options = JsonDefaults.SnakeCase;
    private readonly JsonObject _triggerData = new() { ["event_name"] = "input_file_uploaded", ["directory_id"] = 7, ["upload_directory_id_list"] = new JsonArray(7, 8, 9) };
    private readonly JsonObject _config = new() { ["url"] = "https://example.test/hook", ["timeout_seconds"] = 10, ["headers"] = new JsonObject { ["X-Team"] = "a" } };
    private readonly Event _event = new() { ExtraMetadata = [], Payload = [], Kind = "input_file_uploaded", ProjectId = 42, DirectoryId = 8 };
    private readonly JsonObject _empty = [];
    private Event _parsed = null!;

    [GlobalSetup]
    public void Setup() =>
        _parsed = DiffgramEventCodec.TryParse(System.Text.Encoding.UTF8.GetBytes(Samples.DiffgramEvent(123_456, "input_file_uploaded", 42).ToJsonString()), DateTime.UtcNow, out _)!;

    [Benchmark(Baseline = true, Description = "TriggerFilter directory check: before (a set per match)")]
    public string? DirectoryBefore() => DirectoryWithSet(_triggerData, _event);

    [Benchmark(Description = "TriggerFilter directory check: after")]
    public string? DirectoryAfter() => TriggerFilter.Check(1, 2, null, _triggerData, _event);

    [Benchmark(Description = "ConfigSecrets.Mentions: before (an iterator per level)")]
    public bool MentionsBefore() => Strings(_config).Any(s => SecretCipher.IsSealed(s) || s.Contains("secrets.", StringComparison.Ordinal));

    [Benchmark(Description = "ConfigSecrets.Mentions: after")]
    public bool MentionsAfter() => ConfigSecrets.Mentions(_config);

    [Benchmark(Description = "config read: before (JsonNode.Deserialize, a writer per call)")]
    public Config? ConfigBefore() => _config.Deserialize<Config>(Options);

    [Benchmark(Description = "config read: after (writer and buffer kept per thread, as ActionRunner.ReadConfig)")]
    public Config? ConfigAfter() => ReadThroughThreadWriter(_config, Options);

    [Benchmark(Description = "event payload column (600 B event): before (text, as a string)")]
    public string PayloadColumnBefore() => Actionflow.Storage.Conversions.JsonObjectConverter.ToJson(_parsed.Payload);

    [Benchmark(Description = "event payload column (600 B event): after (UTF-8 bytes)")]
    public byte[] PayloadColumnAfter() => JsonColumnAllocations.Utf8Of(_parsed.Payload);

    [Benchmark(Description = "empty extra_metadata column: before (text)")]
    public string EmptyColumnBefore() => Actionflow.Storage.Conversions.JsonObjectConverter.ToJson(_empty);

    [Benchmark(Description = "empty extra_metadata column: after (shared bytes)")]
    public byte[] EmptyColumnAfter() => JsonColumnAllocations.Utf8Of(_empty);

    public sealed class Config
    {
        public string? Url { get; set; }
        public int TimeoutSeconds { get; set; }
        public Dictionary<string, string>? Headers { get; set; }
    }

    private static string? DirectoryWithSet(JsonObject triggerData, Event ev)
    {
        var allowed = new HashSet<long>();
        if (JsonNodes.TryGetInt64(triggerData["directory_id"], out var single))
        {
            allowed.Add(single);
        }

        if (triggerData["upload_directory_id_list"] is JsonArray list)
        {
            foreach (var item in list)
            {
                if (JsonNodes.TryGetInt64(item, out var id))
                {
                    allowed.Add(id);
                }
            }
        }

        return allowed.Count == 0 || (ev.DirectoryId is { } dir && allowed.Contains(dir)) ? null : "not among the step's directories";
    }

    private static IEnumerable<string> Strings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    foreach (var s in Strings(child))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    foreach (var s in Strings(child))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                yield return v.GetValue<string>();
                break;
        }
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static Config? ReadThroughThreadWriter(JsonObject config, JsonSerializerOptions options)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, MaxDepth = 64, SkipValidation = true });
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        config.WriteTo(writer, options);
        writer.Flush();
        return JsonSerializer.Deserialize<Config>(buffer.WrittenSpan, options);
    }
}
