using System.Text.Json.Nodes;
using Actionflow.Actions.Transform;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

public sealed class TransformActionTests
{
    private static ActionTester<TransformAction> Tester() => new(s => s.AddBuiltInActions());

    private static TestEvent Completed(JsonObject previous) => new() { Kind = EventKinds.ActionCompleted, Id = 5, FileId = 55, ActionId = 9, WorkflowId = 1, ExtraMetadata = previous };

    private static Task<ActionTestResult> RunAsync(string script, JsonObject? previous = null, int timeoutMs = 1000, int maxStatements = 1_000_000)
    {
        var tester = Tester();
        return tester.RunAsync(new JsonObject { ["script"] = script, ["timeout_ms"] = timeoutMs, ["max_statements"] = maxStatements }, Completed(previous ?? []));
    }

    [Fact]
    public async Task ExecuteAsync_FunctionOverEventAndPrevious_ItsReturnIsTheOutput()
    {
        var result = await RunAsync(
            """
            function transform(event, previous) {
              const top = previous.scores.reduce((a, b) => (b.score > a.score ? b : a));
              return { file: event.file_id, label: top.label, confident: top.score > 0.8, kinds: [event.kind] };
            }
            """,
            new JsonObject { ["scores"] = new JsonArray(new JsonObject { ["label"] = "cat", ["score"] = 0.9 }, new JsonObject { ["label"] = "dog", ["score"] = 0.1 }) });

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("""{"file":55,"label":"cat","confident":true,"kinds":["action_completed"]}""", result.Output.ToJsonString());
        Assert.Equal(EventKinds.ActionCompleted, result.Emitted?.Kind);
        Assert.Equal("cat", (string?)result.Emitted!.ExtraMetadata["label"]);
    }

    [Fact]
    public async Task ExecuteAsync_EndlessLoop_FailsWithinItsTimeLimitSayingSo()
    {
        var started = DateTime.UtcNow;
        var result = await RunAsync("function transform() { while (true) {} }", timeoutMs: 200, maxStatements: 10_000_000);

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.False(result.IsRetryable);
        Assert.True(
            result.FailureReason is "script ran longer than its time limit (200 ms)" or "script executed more statements than its limit (10000000)",
            result.FailureReason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ExecuteAsync_TooManyStatements_FailsWithTheStatementLimit()
    {
        var result = await RunAsync("function transform() { let i = 0; for (;;) { i++; } }", timeoutMs: 10_000, maxStatements: 1000);
        Assert.Equal("script executed more statements than its limit (1000)", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_MemoryHog_FailsWithTheMemoryLimit()
    {
        var result = await RunAsync("function transform() { const a = []; for (;;) { a.push('x'.repeat(100000)); } }", timeoutMs: 10_000, maxStatements: 10_000_000);
        Assert.Equal("script used more memory than its limit (32 MB)", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_DeepRecursion_FailsWithTheRecursionLimit()
    {
        var result = await RunAsync("function f(n) { return f(n + 1); } function transform() { return { v: f(0) }; }");
        Assert.Equal("script recursed deeper than its limit (200 calls)", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_MessageAndLineBecomeTheError()
    {
        var result = await RunAsync("function transform(event, previous) {\n  const x = 1;\n  throw new Error('no label in ' + event.kind);\n}");
        Assert.Equal("script threw at line 3: no label in action_completed", result.FailureReason);
    }

    [Theory]
    [InlineData("function transform() { return typeof System; }", "transform must return an object, it returned string")]
    [InlineData("function transform() { return [1]; }", "transform must return an object, it returned an array")]
    [InlineData("function other() { return {}; }", "script must define function transform(event, previous)")]
    public async Task ExecuteAsync_WrongShape_FailsSayingWhat(string script, string reason)
    {
        var result = await RunAsync(script);
        Assert.Equal(reason, result.FailureReason);
    }

    [Theory]
    [InlineData("function transform() { return { clr: typeof importNamespace, req: typeof require, fetch: typeof fetch }; }")]
    public async Task ExecuteAsync_Sandbox_NoClrRequireOrNetwork(string script)
    {
        var result = await RunAsync(script);
        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("""{"clr":"undefined","req":"undefined","fetch":"undefined"}""", result.Output.ToJsonString());
    }

    [Theory]
    [InlineData("function transform() { return eval('1'); }", "string compilation")]
    [InlineData("function transform() { undeclared = 1; return {}; }", "undeclared")]
    public async Task ExecuteAsync_StrictModeAndNoStringCompilation_Fail(string script, string mention)
    {
        var result = await RunAsync(script);
        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains(mention, result.FailureReason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ValidateConfig_SyntaxError_NamesScriptWithLine()
    {
        using var services = new ServiceCollection().AddBuiltInActions().BuildServiceProvider();
        var problems = services.GetRequiredService<TransformAction>().ValidateConfig(new TransformConfig { Script = "function transform( {\n return 1; }" }).ToList();
        var problem = Assert.Single(problems);
        Assert.Equal("script", problem.Field);
        Assert.StartsWith("is not valid JavaScript: ", problem.Message, StringComparison.Ordinal);
        Assert.Empty(services.GetRequiredService<TransformAction>().ValidateConfig(new TransformConfig { Script = "function transform(e, p) { return {}; }" }));
    }
}
