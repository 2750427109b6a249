using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Issue 16: a few thousand generated bodies (wrong types, depth, size, unicode, control characters, broken JSON)
/// over every write route of the embedded default, then every read route: no answer is ever 5xx. The seed is fixed
/// (ACTIONFLOW_FUZZ_SEED overrides it) so a failure can be replayed; test.sh prints the count.
/// </summary>
public sealed class FuzzTests
{
    private const int BodiesPerRoute = 300;

    [Fact]
    public async Task Fuzz_GeneratedBodiesOnEveryWriteRouteThenEveryReadRoute_No5xx()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ACTIONFLOW_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 16;
        var clock = Stopwatch.StartNew();
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.Embedded);
        var host = await pipeline.StartWorkerAsync();
        await using var receiver = await WebhookReceiver.StartAsync("fuzz-secret");
        using var project = await TestProject.CreateAsync(host);
        using var installation = ApiClient.Admin(host);
        var world = await SetUpAsync(project, receiver);
        var fuzz = new Fuzzer(new Random(seed));
        var failures = new List<string>();
        var requests = 0;
        var transportErrors = 0;

        async Task SendAsync(ApiClient client, HttpMethod method, string path, byte[]? body)
        {
            requests++;
            try
            {
                var response = await client.SendRawAsync(method, path, body is null ? null : new ByteArrayContent(body)
                {
                    Headers = { ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") },
                });
                if ((int)response.Status >= 500)
                {
                    failures.Add($"{(int)response.Status} {method} {path} body={Preview(body)} answer={Preview(Encoding.UTF8.GetBytes(response.Raw))}");
                }
            }
            catch (HttpRequestException)
            {
                // A body the server refused before reading it all can end the connection under the client; not a 5xx.
                transportErrors++;
            }
        }

        var writes = WriteRoutes(project, world);
        foreach (var route in writes)
        {
            for (var i = 0; i < BodiesPerRoute / route.Weight; i++)
            {
                await SendAsync(route.Admin ? project.Admin : route.Installation ? installation : project.Editor, route.Method,
                    route.Path(fuzz), fuzz.Body(route.Seed(fuzz)));
            }
        }

        // Let the runs the fuzzed events started record their outputs, then read everything back.
        await Pipeline.EventuallyAsync(async () => await pipeline.RunsAsync(project.Id) is var runs
            && runs.All(r => r.Status is not (Actionflow.Core.Domain.ActionRunStatus.Pending or Actionflow.Core.Domain.ActionRunStatus.Running)),
            TimeSpan.FromSeconds(20));
        foreach (var (method, path, body) in await ReadRoutesAsync(project, fuzz))
        {
            await SendAsync(method == HttpMethod.Get && path.Contains("/api-keys", StringComparison.Ordinal) ? project.Admin : project.Viewer,
                method, path, body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString()));
        }

        foreach (var path in (string[])["api/v1/dead-letters", "api/v1/dead-letters?page_size=1000"])
        {
            await SendAsync(installation, HttpMethod.Get, path, null);
        }

        var line = $"FUZZ seed={seed} requests={requests} 5xx={failures.Count} transport_errors={transportErrors} seconds={clock.Elapsed.TotalSeconds:F0}";
        Report(line);
        var serverErrors = host.Output.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
        Assert.True(failures.Count == 0, line + "\n" + string.Join("\n", failures.Take(20)) + "\nserver:\n" + string.Join("\n", serverErrors.Take(40)));
        Assert.True(requests >= 2500, line);
    }

    private sealed record World(long WorkflowId, long FuzzWorkflowId, long WebhookStep, long ManualStep, long FuzzStep, long WorkflowRunId, long WebhookTemplateId);

    private sealed record WriteRoute(HttpMethod Method, Func<Fuzzer, string> Path, Func<Fuzzer, JsonObject> Seed, int Weight = 1, bool Admin = false, bool Installation = false);

    private static async Task<World> SetUpAsync(TestProject project, WebhookReceiver receiver)
    {
        var api = project.Editor;
        var templates = (await api.GetAsync(project.P("action-template/list"))).Json["action_template_list"]!.AsArray();
        var webhookTemplate = (long)templates.Single(t => (string?)t!["kind"] == "Webhook")!["id"]!;
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "main" })).Json["workflow"]!["id"]!;
        var webhook = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook", ["config_data"] = new JsonObject { ["url"] = receiver.Url("deep/45/fuzz"), ["headers"] = new JsonObject { ["X-Fuzz"] = "1" } },
        })).Json["action"]!["id"]!;
        await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
        });
        var manual = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "manual_trigger" },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => (string?)r["status"] is "succeeded" or "failed", TimeSpan.FromSeconds(45), "the setup run");

        var fuzzWorkflow = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "fuzzed" })).Json["workflow"]!["id"]!;
        var fuzzStep = (long)(await api.PostAsync(project.P($"actions/workflow/{fuzzWorkflow}/action"), new JsonObject { ["kind"] = "Webhook" }))
            .Json["action"]!["id"]!;
        return new World(workflowId, fuzzWorkflow, webhook, manual, fuzzStep, (long)run["id"]!, webhookTemplate);
    }

    private static List<WriteRoute> WriteRoutes(TestProject project, World w)
    {
        JsonObject Step(Fuzzer f, bool update)
        {
            var step = new JsonObject
            {
                ["kind"] = f.Pick("Webhook", "noop"),
                ["template_id"] = w.WebhookTemplateId,
                ["workflow_id"] = w.FuzzWorkflowId,
                ["public_name"] = "step",
                ["description"] = "d",
                ["icon"] = "",
                ["ordinal"] = 0,
                ["trigger_data"] = new JsonObject { ["event_name"] = f.Pick("input_file_uploaded", "action_completed", "manual_trigger", "task_completed") },
                ["precondition"] = new JsonObject(),
                ["completion_condition_data"] = new JsonObject(),
                ["config_data"] = f.WebhookConfig(),
                ["output_interface"] = new JsonObject(),
                ["retry_policy"] = new JsonObject { ["max_attempts"] = 2 },
                ["active"] = false,
            };
            if (update)
            {
                step["kind"] = "Webhook";
                step["archived"] = false;
            }

            return step;
        }

        return
        [
            new(HttpMethod.Post, _ => project.P("actions/workflow/new"),
                f => new JsonObject { ["name"] = "fz", ["trigger_type"] = "manual", ["time_window"] = f.Pick("1_minute", "5_minutes") }),
            new(HttpMethod.Put, _ => project.P("actions/workflow/update"),
                _ => new JsonObject { ["workflow_id"] = w.FuzzWorkflowId, ["name"] = "fuzzed", ["mode"] = "UPDATE", ["active"] = false, ["trigger_type"] = null, ["time_window"] = null }),
            new(HttpMethod.Post, f => project.P($"actions/workflow/{f.Id(w.FuzzWorkflowId)}/action"), f => Step(f, update: false)),
            new(HttpMethod.Put, f => project.P($"actions/{f.Id(w.FuzzStep)}"), f => Step(f, update: true)),
            new(HttpMethod.Post, _ => project.P("events"), f => new JsonObject
            {
                ["kind"] = f.Pick("input_file_uploaded", "task_completed", "fuzz_event"),
                ["workflow_id"] = w.WorkflowId, ["action_id"] = null, ["file_id"] = 1, ["task_id"] = 2, ["job_id"] = null, ["directory_id"] = 3,
                ["input_id"] = null, ["member_id"] = 4, ["description"] = "fuzz",
                ["extra_metadata"] = new JsonObject { ["score"] = 0.5, ["labels"] = new JsonArray("a", "b") },
                ["idempotency_key"] = Guid.NewGuid().ToString("N"),
            }),
            new(HttpMethod.Post, _ => project.P("action/flow/list"), _ => new JsonObject { ["mode"] = "list", ["page"] = 0, ["page_size"] = 10 }, Weight: 2),
            new(HttpMethod.Post, _ => project.P("action/workflow-run/list"), _ => new JsonObject { ["flow_id"] = w.WorkflowId, ["page"] = 0, ["page_size"] = 10 }, Weight: 2),
            new(HttpMethod.Put, f => project.P($"workflow/{f.Id(w.WorkflowId)}/actions/{f.Id(w.ManualStep)}/manual_trigger"), _ => [], Weight: 4),
            new(HttpMethod.Post, f => project.P($"workflow-runs/{f.Id(w.WorkflowRunId)}/retry"), _ => [], Weight: 4),
            new(HttpMethod.Post, f => project.P($"workflow-runs/{f.Id(w.WorkflowRunId)}/cancel"), _ => [], Weight: 4),
            new(HttpMethod.Post, f => project.P($"dead-letters/{f.Id(1)}/replay"), _ => [], Weight: 4),
            new(HttpMethod.Post, _ => project.P("api-keys"), f => new JsonObject { ["role"] = f.Pick("viewer", "editor", "admin") }, Weight: 2, Admin: true),
            new(HttpMethod.Delete, f => project.P($"api-keys/{Uri.EscapeDataString(f.Text())}"), _ => [], Weight: 4, Admin: true),
            new(HttpMethod.Post, _ => "api/v1/projects", f => new JsonObject { ["string_id"] = "fz-" + Guid.NewGuid().ToString("N")[..10], ["name"] = "p" },
                Weight: 2, Installation: true),
            new(HttpMethod.Post, f => $"api/v1/dead-letters/{f.Id(1)}/replay", _ => [], Weight: 4, Installation: true),
            new(HttpMethod.Delete, f => $"api/v1/dead-letters/{f.Id(999_999)}", _ => [], Weight: 4, Installation: true),
        ];
    }

    private static async Task<List<(HttpMethod Method, string Path, JsonObject? Body)>> ReadRoutesAsync(TestProject project, Fuzzer fuzz)
    {
        var reads = new List<(HttpMethod, string, JsonObject?)>();
        var workflows = (await project.Viewer.PostAsync(project.P("action/flow/list"), new JsonObject { ["page_size"] = 1000 })).Json["flow_list"]!.AsArray()
            .Select(x => (long)x!["id"]!).ToList();
        foreach (var workflow in workflows)
        {
            reads.Add((HttpMethod.Get, project.P($"workflow/{workflow}"), null));
            reads.Add((HttpMethod.Post, project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflow, ["page_size"] = 1000 }));
            var detail = await project.Viewer.GetAsync(project.P($"workflow/{workflow}"));
            foreach (var step in (detail.Body?["workflow"]?["actions_list"] as JsonArray ?? []).Take(100))
            {
                var id = (long)step!["id"]!;
                reads.Add((HttpMethod.Get, project.P($"action/{id}/runs/list?page_size=1000"), null));
                reads.Add((HttpMethod.Get, project.P($"action/previous/{id}"), null));
            }

            var runs = await project.Viewer.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflow, ["page_size"] = 50 });
            foreach (var run in runs.Body?["workflow_run_list"] as JsonArray ?? [])
            {
                reads.Add((HttpMethod.Get, project.P($"workflow-runs/{(long)run!["id"]!}"), null));
            }
        }

        for (var i = 0; i < 150; i++)
        {
            var query = string.Join("&", Enumerable.Range(0, fuzz.Int(1, 4)).Select(_ =>
                $"{fuzz.Pick("kind", "since", "page", "page_size", "x")}={Uri.EscapeDataString(fuzz.Text())}"));
            reads.Add((HttpMethod.Get, project.P($"{fuzz.Pick("events", "dead-letters", "action/1/runs/list")}?{query}"), null));
        }

        reads.Add((HttpMethod.Get, project.P("events?page_size=1000"), null));
        reads.Add((HttpMethod.Post, project.P("action/flow/list"), new JsonObject()));
        reads.Add((HttpMethod.Get, project.P("dead-letters?page_size=1000"), null));
        reads.Add((HttpMethod.Get, project.P("action-template/list"), null));
        reads.Add((HttpMethod.Get, project.P("action-template/1"), null));
        reads.Add((HttpMethod.Get, project.P("api-keys"), null));
        reads.Add((HttpMethod.Get, "openapi/v1.json", null));
        return reads;
    }

    private static string Preview(byte[]? body)
    {
        if (body is null)
        {
            return "(none)";
        }

        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 1000));
        return body.Length > 1000 ? $"{text}... ({body.Length} bytes)" : text;
    }

    private static void Report(string line)
    {
        Console.WriteLine(line);
        var path = Path.Combine(TestEnvironment.RepositoryRoot, "artifacts", "fuzz.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.AppendAllLines(path, [line]);
    }

    /// <summary>Generates JSON text: valid bodies with one part made wrong, and bodies that are not JSON at all.</summary>
    private sealed class Fuzzer(Random random)
    {
        private static readonly string[] Strings =
        [
            "", " ", "********", "null", "0", "-1", "12", "1e400", "true", "2026-13-45T25:61:61Z", "2026-11-27T05:20:14Z", "yesterday",
            "caf\u00e9", "\u65e5\u672c\u8a9e", "\U0001F600\U0001F4A5", "\u202eevil", "e\u0301\u0301\u0301", "\u00a0\u2028\u2029", "\ufeffbom",
            "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "{0} %s %n %x", "${jndi:ldap://x}", "{{ secrets.TOKEN }}",
            "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http://user:pw@example.com/", "http://[::1]/", "http://10.0.0.1/",
            "http://localhost/", "http://192.0.2.2/", "https://example.com/hook?access_token=t", "javascript:alert(1)", "http://", "https://x",
            "whsec_!!!", "whsec_", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Authorization", "Host", "webhook-id", "Transfer-Encoding",
            "Bad Name", "X-\u00e9", "UPDATE", "ARCHIVE", "admin", "viewer", "Webhook", "noop", "manual_trigger", "action_completed",
        ];

        private static readonly System.Text.Json.JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        private static readonly string[] Escapes = ["\\u0000", "\\n", "\\r\\n", "\\t", "\\u001f", "\\u007f", "\\ud800", "\\udfff", "\\\"", "\\\\", "\\/"];

        public T Pick<T>(params T[] values) => values[random.Next(values.Length)];

        public int Int(int min, int max) => random.Next(min, max + 1);

        /// <summary>An id for a path: usually the real one, sometimes another, huge, negative or not a number.</summary>
        public string Id(long real) => random.Next(10) switch
        {
            < 7 => real.ToString(CultureInfo.InvariantCulture),
            7 => random.Next(1, 50).ToString(CultureInfo.InvariantCulture),
            8 => Pick("0", "-1", "9223372036854775807", "99999999999999999999"),
            _ => Uri.EscapeDataString(Text()),
        };

        /// <summary>A string's content (not yet quoted).</summary>
        public string Text() => random.Next(8) switch
        {
            0 => new string(Pick('a', '\u00e9', '\u65e5', ' '), Pick(1, 100, 5_000, 70_000)),
            1 => Pick(Strings) + Pick(Strings),
            2 => string.Concat(Enumerable.Range(0, random.Next(1, 20)).Select(_ => (char)random.Next(0x20, 0x2FFF))),
            _ => Pick(Strings),
        };

        /// <summary>A body for a route whose valid body is <paramref name="seed"/>; now and then not even valid UTF-8.</summary>
        public byte[] Body(JsonObject seed)
        {
            var bytes = Encoding.UTF8.GetBytes(BodyText(seed));
            if (random.Next(30) == 0 && bytes.Length > 2)
            {
                bytes[random.Next(bytes.Length)] = Pick((byte)0xFF, (byte)0xC3, (byte)0x80);
            }

            return bytes;
        }

        private string BodyText(JsonObject seed)
        {
            return random.Next(20) switch
            {
                < 10 => ObjectText(seed, replace: random.Next(1, 4)),
                < 12 => ObjectText(seed, replace: 0, extra: random.Next(1, 4)),
                < 14 => Value(4),
                < 16 => Raw(),
                < 18 => ObjectText(seed, replace: 1, deepOnly: true),
                _ => ObjectText(seed, replace: 0),
            };
        }

        public JsonObject WebhookConfig()
        {
            var config = new JsonObject { ["url"] = "https://example.com/hook", ["headers"] = new JsonObject { ["X-Team"] = "blue" }, ["timeout_seconds"] = 5 };
            switch (random.Next(6))
            {
                case 0:
                    config["url"] = Text();
                    break;
                case 1:
                    config["headers"] = new JsonObject { [Text()] = Text() };
                    break;
                case 2:
                    config["secret"] = Text();
                    break;
                case 3:
                    config["timeout_seconds"] = Pick(0, -5, 301, int.MaxValue);
                    break;
            }

            return config;
        }

        /// <summary>A random JSON value as text, nested at most <paramref name="depth"/> more levels (or very deep, sometimes).</summary>
        public string Value(int depth)
        {
            switch (random.Next(depth <= 0 ? 6 : 10))
            {
                case 0:
                    return Pick("null", "true", "false");
                case 1:
                    return Pick("0", "-0", "1", "-1", "2147483648", "9223372036854775807", "-9223372036854775809", "18446744073709551616", "1e400",
                        "0.5", "1.7976931348623157e308", "1E-400", "123456789012345678901234567890", "3.14");
                case 2 or 3:
                    return Quote(Text());
                case 4:
                    return "\"" + string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => Pick(Escapes) + Pick("a", "", "\u00e9"))) + "\"";
                case 5:
                    return Deep(Pick(2, 10, 31, 32, 33, 40, 61, 62, 63, 64, 65, 100, 600), random.Next(2) == 0);
                case 6 or 7:
                    return "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => Value(depth - 1))) + "]";
                default:
                    return "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => Quote(Text()) + ":" + Value(depth - 1))) + "}";
            }
        }

        private string ObjectText(JsonObject seed, int replace, int extra = 0, bool deepOnly = false)
        {
            var names = seed.Select(p => p.Key).ToList();
            var replaced = names.OrderBy(_ => random.Next()).Take(replace).ToHashSet(StringComparer.Ordinal);
            var parts = new List<string>();
            foreach (var (name, value) in seed)
            {
                var text = !replaced.Contains(name) ? (value?.ToJsonString() ?? "null")
                    : deepOnly ? Deep(Pick(31, 32, 33, 60, 63, 64, 65, 70), random.Next(3) > 0)
                    : Value(3);
                parts.Add(Quote(name) + ":" + text);
            }

            for (var i = 0; i < extra; i++)
            {
                parts.Add(Quote(Pick(Text(), "config_data", "extra_metadata", "__proto__", "", "project_id", "id")) + ":" + Value(3));
            }

            return "{" + string.Join(",", parts) + "}";
        }

        private string Raw() => random.Next(14) switch
        {
            0 => "",
            1 => "{",
            2 => "{\"a\":",
            3 => "nul",
            4 => "[1,2",
            5 => "\u0000\u0001\u0002",
            6 => "\ufeff{}",
            7 => "{} {}",
            8 => "{\"name\":1,\"name\":\"x\"}",
            9 => new string('[', 1000) + new string(']', 1000),
            10 => new string(' ', 200_000) + "{}",
            11 => "\"just a string\"",
            12 => "{\"kind\":\"" + new string('x', 1_100_000) + "\"}",
            _ => "'single quotes'",
        };

        private static string Deep(int depth, bool objects) =>
            objects
                ? string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1)
                : string.Concat(Enumerable.Repeat("[", depth)) + new string(']', depth);

        private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text, Relaxed);
    }
}
