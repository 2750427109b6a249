using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class TemplateStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task SyncAsync_EmptyStore_CreatesEveryDeclaredTemplate()
    {
        var result = await Templates.SyncAsync([Template("webhook"), Template("export")], T0, default);

        Assert.Equal((2, 0, 0), (result.Created, result.Updated, result.MarkedUnavailable));
        var stored = await StoredAsync();
        Assert.All(stored.Values, t => Assert.True(t.IsAvailable));
        Assert.Equal("Webhook", stored["webhook"].PublicName);
        Assert.Equal("object", stored["webhook"].ConfigSchema["type"]!.GetValue<string>());
        Assert.Equal((T0, T0), (stored["export"].TimeCreated, stored["export"].TimeUpdated));
    }

    [Fact]
    public async Task SyncAsync_NothingChanged_ReportsNoChange()
    {
        await Templates.SyncAsync([Template("webhook")], T0, default);

        var result = await Templates.SyncAsync([Template("webhook")], T0.AddHours(1), default);

        Assert.Equal((0, 0, 0), (result.Created, result.Updated, result.MarkedUnavailable));
        Assert.Equal(T0, (await StoredAsync())["webhook"].TimeUpdated);
    }

    [Fact]
    public async Task SyncAsync_ChangedFields_UpdatesThemAndTimeUpdated()
    {
        await Templates.SyncAsync([Template("webhook")], T0, default);
        var changed = Template("webhook");
        changed.Description = "Posts the event to a URL";
        changed.ConfigSchema["required"] = new JsonArray("url");

        var result = await Templates.SyncAsync([changed], T0.AddHours(1), default);

        Assert.Equal((0, 1, 0), (result.Created, result.Updated, result.MarkedUnavailable));
        var stored = (await StoredAsync())["webhook"];
        Assert.Equal("Posts the event to a URL", stored.Description);
        Assert.Equal("url", stored.ConfigSchema["required"]![0]!.GetValue<string>());
        Assert.Equal((T0, T0.AddHours(1)), (stored.TimeCreated, stored.TimeUpdated));
    }

    [Fact]
    public async Task SyncAsync_KindNoLongerDeclared_MarksUnavailableThenReenablesWhenBack()
    {
        await Templates.SyncAsync([Template("webhook"), Template("export")], T0, default);

        var dropped = await Templates.SyncAsync([Template("webhook")], T0.AddHours(1), default);
        var again = await Templates.SyncAsync([Template("webhook")], T0.AddHours(2), default);
        var back = await Templates.SyncAsync([Template("webhook"), Template("export")], T0.AddHours(3), default);

        Assert.Equal((0, 0, 1), (dropped.Created, dropped.Updated, dropped.MarkedUnavailable));
        Assert.Equal((0, 0, 0), (again.Created, again.Updated, again.MarkedUnavailable));
        Assert.Equal((0, 1, 0), (back.Created, back.Updated, back.MarkedUnavailable));
        var export = (await StoredAsync())["export"];
        Assert.True(export.IsAvailable);
        Assert.Equal(T0.AddHours(3), export.TimeUpdated);
    }

    [Fact]
    public async Task SyncAsync_ConcurrentWorkersStarting_CreateEachTemplateOnce()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => Templates.SyncAsync([Template("webhook"), Template("export")], T0, default))));

        Assert.Equal(2, (await StoredAsync()).Count);
    }

    [Fact]
    public async Task SyncAsync_KindDeclaredTwice_Throws()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Templates.SyncAsync([Template("webhook"), Template("webhook")], T0, default));
    }

    private static ActionTemplate Template(string kind) => new()
    {
        Kind = kind,
        PublicName = char.ToUpperInvariant(kind[0]) + kind[1..],
        Description = $"The {kind} action",
        Icon = "https://example.invalid/icon.svg",
        TriggerData = new JsonObject { ["trigger_event_name"] = "input_file_uploaded" },
        ConditionData = new JsonObject { ["event_name"] = null },
        CompletionConditionData = new JsonObject { ["event_name"] = "action_completed" },
        ConfigSchema = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["url"] = new JsonObject { ["type"] = "string" } } },
    };

    private async Task<Dictionary<string, ActionTemplate>> StoredAsync()
    {
        await using var db = await Db.ContextAsync();
        return await db.ActionTemplates.AsNoTracking().ToDictionaryAsync(t => t.Kind);
    }
}
