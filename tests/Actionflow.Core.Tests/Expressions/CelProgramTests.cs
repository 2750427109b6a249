using System.Text.Json.Nodes;
using Actionflow.Core.Expressions;
using Actionflow.Core.Json;

namespace Actionflow.Core.Tests.Expressions;

public sealed class CelProgramTests
{
    private static readonly CelEnvironment Workflow = new("event", "previous");

    /// <summary>A Diffgram event as <c>Event.serialize()</c> sends it, with <c>extra_metadata</c>.</summary>
    private static JsonNode Event(long? directoryId = 12, string extraMetadata = """{"score": 0.9, "dataset": "cats", "labels": ["cat", "dog"]}""") =>
        JsonNode.Parse($$"""
            {"id": 501, "kind": "input_file_uploaded", "project_id": 7, "directory_id": {{(directoryId is null ? "null" : directoryId.ToString())}},
             "file_id": 100000, "action_id": null, "workflow_id": null, "extra_metadata": {{extraMetadata}}}
            """)!;

    private static CelProgram Compile(string source)
    {
        var compilation = Workflow.Compile(source);
        Assert.True(compilation.Succeeded, string.Join("; ", compilation.Errors));
        return compilation.Program!;
    }

    [Theory]
    [InlineData(12L, true)]
    [InlineData(14L, true)]
    [InlineData(13L, false)]
    [InlineData(null, false)]
    public void Test_DiffgramDirectoryFilter_MatchesOnlyTheChosenDirectories(long? directoryId, bool expected)
    {
        var filter = Compile("event.directory_id in [12, 14]");

        var result = filter.Test(Event(directoryId), null);

        Assert.Equal(expected, result.Holds);
        Assert.Equal(expected ? null : "the expression is false", result.Reason);
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(5, true)]
    [InlineData(4, false)]
    public void Test_DiffgramOutputLabelsPrecondition_MatchesThePreviousStepsAppliedOption(int appliedOptionId, bool expected)
    {
        var precondition = Compile("previous.applied_option_id in [3, 5]");
        var previous = new JsonObject { ["applied_option_id"] = appliedOptionId, ["file_id"] = 100_000 };

        Assert.Equal(expected, precondition.Test(Event(), previous).Holds);
    }

    [Fact]
    public void Test_IssueExample_ScoreAndDirectory()
    {
        var filter = Compile("event.extra_metadata.score > 0.8 && event.directory_id in [12, 14]");

        Assert.True(filter.Test(Event(12)).Holds);
        Assert.False(filter.Test(Event(13)).Holds);
        Assert.False(filter.Test(Event(12, """{"score": 0.5}""")).Holds);
    }

    [Fact]
    public void Evaluate_JsonNumbers_IntegralAreIntOthersDouble()
    {
        Assert.Equal(CelValue.True, Compile("event.file_id % 2 == 0 && type(event.file_id) == int").Evaluate(Event()).Value);
        Assert.Equal(CelValue.True, Compile("type(event.extra_metadata.score) == double").Evaluate(Event()).Value);
        Assert.Equal(CelValue.True, Compile("event.extra_metadata.n > 0.5").Evaluate(Event(12, """{"n": 1}""")).Value);
        Assert.True(Compile("event.extra_metadata.n % 2").Evaluate(Event(12, """{"n": 1.0}""")).IsError);
    }

    [Fact]
    public void Evaluate_JsonBuiltInCode_BehavesAsParsedJson()
    {
        var built = new JsonObject { ["directory_id"] = 12, ["extra_metadata"] = new JsonObject { ["score"] = 0.9, ["big"] = long.MaxValue } };
        var program = Compile("event.directory_id in [12, 14] && event.extra_metadata.score > 0.8 && event.extra_metadata.big == 9223372036854775807");

        Assert.True(program.Test(built).Holds);
    }

    [Fact]
    public void Evaluate_MissingField_IsAnErrorWithItsPositionNotAnException()
    {
        var program = Compile("event.directory_id == 12 &&\n  event.extra_metadata.missing > 1");

        var result = program.Evaluate(Event());

        Assert.True(result.IsError);
        Assert.Equal("no such key: 'missing'", result.Error!.Message);
        Assert.Equal(2, result.Error.Line);
        Assert.Equal(23, result.Error.Column);
        var condition = program.Test(Event());
        Assert.False(condition.Holds);
        Assert.Equal("the expression failed at line 2, column 23: no such key: 'missing'", condition.Reason);
    }

    [Theory]
    [InlineData("event.directory_id + 'x'", "no matching overload for '+' applied to (int, string)")]
    [InlineData("event.extra_metadata.dataset > 3", "no matching overload for '>' applied to (string, int)")]
    [InlineData("previous.applied_option_id == 3", "cannot select 'applied_option_id' from null")]
    [InlineData("event.file_id * 100000000000000", "integer overflow")]
    [InlineData("event.extra_metadata.labels[2] == 'cow'", "index out of range: 2 (the list has 2 items)")]
    [InlineData("int(event.extra_metadata.dataset) > 1", "cannot convert \"cats\" to int")]
    public void Evaluate_WrongTypeOrValueAtRuntime_IsAnErrorAsData(string source, string message)
    {
        var result = Compile(source).Evaluate(Event(), null);

        Assert.True(result.IsError);
        Assert.Equal(message, result.Error!.Message);
    }

    [Theory]
    [InlineData("event.missing > 1 && false")]
    [InlineData("false && event.missing > 1")]
    [InlineData("!(event.missing > 1 || true)")]
    [InlineData("[1, 2].all(x, event.missing > x) && false")]
    public void Evaluate_ErrorBesideADecidingOperand_IsAbsorbedEitherSide(string source)
    {
        var result = Compile(source).Evaluate(Event());

        Assert.False(result.IsError, result.Error?.ToString());
        Assert.Equal(CelValue.False, result.Value);
    }

    [Theory]
    [InlineData("event.score >", 1, 14, "the expression ends too early: an operand is missing")]
    [InlineData("evnt.directory_id == 1", 1, 1, "undeclared reference to 'evnt' (variables: event, previous)")]
    [InlineData("event.directory_id in [12, 14", 1, 30, "expected ']' to close the list, found the end of the expression")]
    [InlineData("1 + 'a' == 2", 1, 3, "no matching overload for '+' applied to (int, string)")]
    [InlineData("size(1) > 0", 1, 1, "no matching overload for 'size' applied to (int)")]
    [InlineData("sizes(event) > 0", 1, 1, "unknown function 'sizes'")]
    [InlineData("event.extra_metadata.dataset.startsWith()", 1, 30, "startsWith() takes 1 argument(s), not 0")]
    [InlineData("event.extra_metadata.dataset.matches('(?=x)')", 1, 38, "unsupported regular expression")]
    [InlineData("event.extra_metadata.dataset.matches('[a-')", 1, 38, "invalid regular expression")]
    [InlineData("event.x == 'unterminated", 1, 12, "unterminated string")]
    [InlineData("event.directory_id == 1\n  && event.extra_metadata.score >> 0.8", 2, 34, "unexpected '>': expected a value, a name or '('")]
    [InlineData("event.labels.all(event, true)", 1, 18, "the loop variable 'event' hides the variable of the same name; choose another name")]
    [InlineData("Foo{a: 1}", 1, 4, "message construction (Type{field: value}) is not supported")]
    [InlineData("if", 1, 1, "'if' is a reserved word and cannot be used as a name")]
    [InlineData("9223372036854775808", 1, 1, "int literal out of range")]
    [InlineData("   ", 1, 1, "the expression is empty")]
    public void Compile_InvalidSource_ReportsLineColumnAndAMessage(string source, int line, int column, string message)
    {
        var compilation = Workflow.Compile(source);

        Assert.False(compilation.Succeeded);
        Assert.Null(compilation.Program);
        var error = compilation.Errors[0];
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public void Compile_SeveralProblems_ReportsEachInSourceOrder()
    {
        var compilation = Workflow.Compile("evnt.a == 1 && size(true) == 1 && prev.b");

        Assert.Equal([1, 16, 35], compilation.Errors.Select(e => e.Column));
    }

    [Fact]
    public void Compile_DeeplyNested_IsAnErrorNotAStackOverflow()
    {
        var source = new string('(', 1_000) + "1" + new string(')', 1_000);

        var compilation = Workflow.Compile(source);

        Assert.False(compilation.Succeeded);
        Assert.Contains("nested more than", compilation.Errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9_000, "!")]
    [InlineData(2_400, "1 + ")]
    [InlineData(1_200, "event.a.")]
    public void Compile_LongChains_AreRefusedWithoutExhaustingTheStack(int count, string piece)
    {
        var source = string.Concat(Enumerable.Repeat(piece, count)) + (piece.EndsWith('.') ? "b" : "true");

        var compilation = Workflow.Compile(source);

        Assert.False(compilation.Succeeded);
        Assert.Contains(compilation.Errors, e => e.Message == "expression nested more than 250 levels deep");
    }

    [Fact]
    public void Compile_ChainJustUnderTheLimit_Evaluates()
    {
        var source = string.Concat(Enumerable.Repeat("1 + ", 200)) + "1";

        Assert.Equal(201, Compile(source).Evaluate(Event()).Value.AsInt);
    }

    [Theory]
    [InlineData("event.file_id + 1")]
    [InlineData("'yes'")]
    [InlineData("[event.file_id].map(x, x * 2)")]
    public void CompileCondition_ExpressionThatCannotGiveABool_IsRefused(string source)
    {
        var compilation = Workflow.CompileCondition(source);

        Assert.False(compilation.Succeeded);
        Assert.StartsWith("a condition must give a bool", compilation.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_NonBoolResultAtRuntime_DoesNotHoldAndSaysWhy()
    {
        var program = Workflow.CompileCondition("event.extra_metadata.dataset").Program!;

        var result = program.Test(Event());

        Assert.False(result.Holds);
        Assert.Equal("the expression gave string \"cats\", not a bool", result.Reason);
    }

    [Theory]
    [InlineData("has(event.extra_metadata.score)", true)]
    [InlineData("has(event.extra_metadata.missing)", false)]
    [InlineData("has(event.action_id)", true)]
    [InlineData("has(previous.applied_option_id)", false)]
    public void Evaluate_Has_TestsPresenceAndANullHasNoFields(string source, bool expected)
    {
        var result = Compile(source).Evaluate(Event(), null);

        Assert.False(result.IsError, result.Error?.ToString());
        Assert.Equal(CelValue.Bool(expected), result.Value);
    }

    [Theory]
    [InlineData("event.extra_metadata.labels.exists(l, l.startsWith('ca'))", true)]
    [InlineData("event.extra_metadata.labels.all(l, size(l) == 3)", true)]
    [InlineData("event.extra_metadata.labels.exists_one(l, l.matches('^d'))", true)]
    [InlineData("event.extra_metadata.labels.filter(l, l != 'cat') == ['dog']", true)]
    [InlineData("event.extra_metadata.labels.map(l, l + 's') == ['cats', 'dogs']", true)]
    [InlineData("event.extra_metadata.all(k, k in ['score', 'dataset', 'labels'])", true)]
    [InlineData("'dataset' in event.extra_metadata && !('x' in event.extra_metadata)", true)]
    [InlineData("event.extra_metadata['dataset'] == 'cats' && event['kind'] == 'input_file_uploaded'", true)]
    [InlineData("event.extra_metadata.score > 0.95 ? 'high' : 'low'", false)]
    public void Evaluate_MacrosAndSelectionOverJson_FollowCel(string source, bool expected)
    {
        var result = Compile(source).Evaluate(Event());

        Assert.False(result.IsError, result.Error?.ToString());
        if (result.Value.Kind == CelKind.String)
        {
            Assert.Equal("low", result.Value.AsString);
            return;
        }

        Assert.Equal(CelValue.Bool(expected), result.Value);
    }

    [Fact]
    public void Evaluate_ByName_MissingVariableIsNull()
    {
        var program = Compile("previous == null && event.directory_id == 12");

        var result = program.Evaluate(new Dictionary<string, JsonNode?> { ["event"] = Event() });

        Assert.Equal(CelValue.True, result.Value);
    }

    [Fact]
    public void Evaluate_ResultToJson_KeepsNumbersTyped()
    {
        var result = Compile("{'id': event.file_id, 'half': double(event.file_id) / 2.0, 'labels': event.extra_metadata.labels, 'u': 3u}").Evaluate(Event());

        Assert.Equal("""{"id":100000,"half":50000,"labels":["cat","dog"],"u":3}""", result.Value.ToJson()!.ToJsonString());
    }

    [Fact]
    public void Evaluate_SameProgramFromManyThreads_GivesEachItsOwnResult()
    {
        var program = Compile("event.extra_metadata.labels.map(l, l + string(event.file_id)).exists(x, x.endsWith(string(event.file_id))) && event.file_id % 7 == 0");
        var events = Enumerable.Range(0, 2_000).Select(i =>
        {
            var e = new JsonObject { ["file_id"] = i, ["extra_metadata"] = new JsonObject { ["labels"] = new JsonArray("a", "b") } };
            JsonNodes.Materialize(e);
            return e;
        }).ToArray();
        var results = new bool[events.Length];

        Parallel.For(0, events.Length, i => results[i] = program.Test(events[i]).Holds);

        Assert.Equal(Enumerable.Range(0, events.Length).Select(i => i % 7 == 0), results);
    }
}
