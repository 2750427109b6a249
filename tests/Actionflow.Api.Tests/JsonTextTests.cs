using System.Text;
using Actionflow.Api.Validation;

namespace Actionflow.Api.Tests;

public sealed class JsonTextTests
{
    [Theory]
    [InlineData("""{"name": "x\ud800"}""", "name")]
    [InlineData("""{"name": "\udfffx"}""", "name")]
    [InlineData("""{"kind": "k", "extra_metadata": {"a": ["ok", "\ud83d"]}}""", "extra_metadata")]
    [InlineData("""{"config_data": {"headers": {"\ud800": "v"}}}""", "config_data")]
    [InlineData("""{"\udc00": 1}""", "body")]
    [InlineData("""["\ud800"]""", "body")]
    [InlineData("\"\\ud800\"", "body")]
    public void FindProblem_EscapedHalfPair_NamesTheTopLevelField(string json, string field)
    {
        Assert.Equal((field, JsonText.LoneSurrogate), JsonText.FindProblem(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("""{"kind": "k", "extra_metadata": {"score": 1, "score": 2}}""", "extra_metadata")]
    [InlineData("""{"kind": "k", "extra_metadata": {"a": [{"Score": 1, "score": 2}]}}""", "extra_metadata")]
    [InlineData("""{"name": "a", "Name": "b"}""", "body")]
    public void FindProblem_SameKeyTwice_NamesTheTopLevelField(string json, string field)
    {
        var problem = JsonText.FindProblem(Encoding.UTF8.GetBytes(json));

        Assert.Equal(field, problem?.Field);
        Assert.Contains("twice", problem?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name": "\ud83d\ude00 caf\u00e9 \n \u0000"}""")]
    [InlineData("""{"name": "😀 café"}""")]
    [InlineData("""{"name": "x", "broken": """)]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}]}""")]
    public void FindProblem_WholePairsDistinctKeysOrNotJson_Null(string json)
    {
        Assert.Null(JsonText.FindProblem(Encoding.UTF8.GetBytes(json)));
    }
}
