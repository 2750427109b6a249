using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class MigrationTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task MigrateAsync_FreshDatabase_CreatesEveryTableAndSeedsVersionZero()
    {
        Assert.Equal(0, (await Definitions.GetStampAsync(default)).Version);
        await using var db = await Db.ContextAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(0, await db.Projects.CountAsync());
        Assert.Equal(0, await db.Workflows.CountAsync());
        Assert.Equal(0, await db.Actions.CountAsync());
        Assert.Equal(0, await db.ActionTemplates.CountAsync());
        Assert.Equal(0, await db.WorkflowRuns.CountAsync());
        Assert.Equal(0, await db.ActionRuns.CountAsync());
        Assert.Equal(0, await db.Events.CountAsync());
        Assert.Equal(0, await db.OutboxMessages.CountAsync());
        Assert.Equal(0, await db.DeadLetters.CountAsync());
    }

    [Fact]
    public async Task MigrateAsync_AlreadyMigrated_IsANoOp()
    {
        await Db.Get<IDatabaseMigrator>().MigrateAsync(default);

        Assert.Equal(0, (await Definitions.GetStampAsync(default)).Version);
    }

    [Fact]
    public async Task MigrateAsync_LastMigrationRolledBack_AppliesItAgain()
    {
        await using (var db = await Db.ContextAsync())
        {
            var migrations = db.Database.GetMigrations().ToList();
            await db.GetService<IMigrator>().MigrateAsync(migrations[^2]);
            Assert.Equal([migrations[^1]], await db.Database.GetPendingMigrationsAsync());
        }

        await Db.Get<IDatabaseMigrator>().MigrateAsync(default);

        await using var after = await Db.ContextAsync();
        Assert.Empty(await after.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task Model_ComparedWithMigrations_HasNoPendingChanges()
    {
        await using var db = await Db.ContextAsync();

        Assert.False(db.Database.HasPendingModelChanges(), "the model differs from the last migration: add a migration for both providers");
    }

    [Fact]
    public async Task MigrateAsync_FreshDatabase_CreatesNamedIndexes()
    {
        await using var db = await Db.ContextAsync();
        var sql = Provider == StorageProvider.Postgres
            ? "SELECT indexname AS \"Value\" FROM pg_indexes WHERE schemaname = 'public'"
            : "SELECT name AS \"Value\" FROM sqlite_master WHERE type = 'index'";
        var indexes = await db.Database.SqlQueryRaw<string>(sql).ToListAsync();

        Assert.Subset(indexes.ToHashSet(), new HashSet<string>
        {
            "ix_projects_string_id",
            "ix_events_project_id_dedup_key",
            "ix_events_project_id_kind_id",
            "ix_action_runs_event_id_action_id",
            "ix_action_runs_action_id_id",
            "ix_action_runs_workflow_run_id",
            "ix_workflow_runs_root_event_id_workflow_id",
            "ix_actions_workflow_id_ordinal",
            "ix_outbox_messages_queue_id",
        });
    }

    [Fact]
    public async Task SaveChanges_StatusJsonAndTimes_StoredAsLowercaseTextJsonAndReadBackAsUtc()
    {
        var (accepted, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(accepted, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var output = new JsonObject { ["status_code"] = 200, ["nested"] = new JsonObject { ["é"] = "ü" } };
        await Pipeline.CompleteRunAsync(
            new RunCompletion(claim.Run.Id, "w1", ActionRunStatus.Succeeded, output, null, null, T0.AddSeconds(3), WorkflowRunStatus.Succeeded),
            null,
            [],
            default);

        await using var db = await Db.ContextAsync();
        var status = await db.Database.SqlQueryRaw<string>("SELECT status AS \"Value\" FROM action_runs").SingleAsync();
        var workflowStatus = await db.Database.SqlQueryRaw<string>("SELECT status AS \"Value\" FROM workflow_runs").SingleAsync();
        var run = await db.ActionRuns.AsNoTracking().SingleAsync();

        Assert.Equal("succeeded", status);
        Assert.Equal("succeeded", workflowStatus);
        Assert.True(JsonNode.DeepEquals(output, run.Output));
        Assert.Equal(DateTimeKind.Utc, run.TimeCreated.Kind);
        Assert.Equal(DateTimeKind.Utc, run.FinishedAt!.Value.Kind);
        Assert.Equal(T0.AddSeconds(3), run.FinishedAt);
    }

    [Fact]
    public async Task SaveChanges_JsonEditedInPlace_IsDetectedAndSaved()
    {
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        await using (var db = await Db.ContextAsync())
        {
            var action = await db.Actions.SingleAsync(a => a.Id == flow.ActionIds[0]);
            action.ConfigData["url"] = "http://127.0.0.1:9/changed";
            await db.SaveChangesAsync();
        }

        await using var check = await Db.ContextAsync();
        var stored = await check.Actions.AsNoTracking().SingleAsync(a => a.Id == flow.ActionIds[0]);
        Assert.Equal("http://127.0.0.1:9/changed", stored.ConfigData["url"]!.GetValue<string>());
    }
}
