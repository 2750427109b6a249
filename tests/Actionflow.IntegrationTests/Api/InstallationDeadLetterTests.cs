using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Issue 16, finding 9: messages that name no usable project are dead-lettered where no project route shows them;
/// the installation-level list (admin token) shows, replays and discards them.
/// </summary>
public sealed class InstallationDeadLetterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task PoisonWithoutProject_ListedForTheAdminToken_ReplayedAndDiscarded(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();
        using var admin = ApiClient.Admin(host);
        using var project = await TestProject.CreateAsync(host);
        ApiAssert.Ok(await admin.GetAsync("api/v1/dead-letters"));

        string[] poison = ["not json at all", "[]", """{"kind": 5}"""];
        foreach (var body in poison)
        {
            await pipeline.PublishRawAsync(Encoding.UTF8.GetBytes(body));
        }

        var list = await ApiAssert.EventuallyAsync(
            async () => (await admin.GetAsync("api/v1/dead-letters")).Body as JsonObject,
            l => l["dead_letter_list"]!.AsArray().Count == poison.Length, Patience, "the poison messages to be dead-lettered");
        var letters = list["dead_letter_list"]!.AsArray().Select(l => l!.AsObject()).ToList();
        Assert.All(letters, l =>
        {
            Assert.Null(l["project_id"]);
            Assert.Equal("events", (string?)l["queue"]);
            Assert.False(string.IsNullOrWhiteSpace((string?)l["reason"]));
            var headers = l["headers"] as JsonObject ?? [];
            // The client library's bookkeeping (x-dotnet-pub-seq-no) means nothing to an operator.
            Assert.DoesNotContain(headers, h => h.Key.StartsWith("x-dotnet-", StringComparison.Ordinal));
        });
        Assert.Equal(["[]", "not json at all", "{\"kind\":5}"], letters.Select(BodyText).Order(StringComparer.Ordinal));

        // No project route shows them; project keys cannot use the installation routes.
        Assert.Empty((await project.Admin.GetAsync(project.P("dead-letters"))).Json["dead_letter_list"]!.AsArray());
        ApiAssert.Problem(await project.Admin.GetAsync("api/v1/dead-letters"), HttpStatusCode.Forbidden);
        var target = letters.Single(l => BodyText(l) == "[]");
        var targetId = (long)target["id"]!;
        ApiAssert.Problem(await project.Admin.PostAsync($"api/v1/dead-letters/{targetId}/replay"), HttpStatusCode.Forbidden);
        ApiAssert.Problem(await project.Admin.DeleteAsync($"api/v1/dead-letters/{targetId}"), HttpStatusCode.Forbidden);

        // Replayed: back on its queue, refused again, dead-lettered again under a new id.
        var replayed = await admin.PostAsync($"api/v1/dead-letters/{targetId}/replay");
        ApiAssert.Ok(replayed, HttpStatusCode.Accepted);
        Assert.Equal("events", (string?)replayed.Json["queue"]);
        var again = await ApiAssert.EventuallyAsync(
            async () => (await admin.GetAsync("api/v1/dead-letters")).Body as JsonObject,
            l => l["dead_letter_list"]!.AsArray().Count == poison.Length
                && l["dead_letter_list"]!.AsArray().All(x => (long)x!["id"]! != targetId),
            Patience, "the replayed message to be dead-lettered again");
        var back = again["dead_letter_list"]!.AsArray().Select(l => l!.AsObject()).Single(l => BodyText(l) == "[]");
        Assert.True((long)back["id"]! > targetId);

        // Discarded: gone, and a second discard finds nothing.
        var discardId = (long)back["id"]!;
        ApiAssert.Ok(await admin.DeleteAsync($"api/v1/dead-letters/{discardId}"), HttpStatusCode.NoContent);
        Assert.DoesNotContain((await admin.GetAsync("api/v1/dead-letters")).Json["dead_letter_list"]!.AsArray(), l => (long)l!["id"]! == discardId);
        ApiAssert.Problem(await admin.DeleteAsync($"api/v1/dead-letters/{discardId}"), HttpStatusCode.NotFound);
        ApiAssert.Problem(await admin.PostAsync($"api/v1/dead-letters/{discardId}/replay"), HttpStatusCode.NotFound);
        ApiAssert.Problem(await admin.GetAsync("api/v1/dead-letters?page_size=0"), HttpStatusCode.BadRequest, "page_size");
    }

    /// <summary>The body as the list shows it: JSON as compact JSON, anything else as the text it was.</summary>
    private static string BodyText(JsonObject letter) =>
        letter["body"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : letter["body"]!.ToJsonString();
}
