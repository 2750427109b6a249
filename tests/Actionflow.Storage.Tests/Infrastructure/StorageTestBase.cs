using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Xunit;

namespace Actionflow.Storage.Tests.Infrastructure;

/// <summary>Gives every test its own migrated database of the provider the derived class names.</summary>
public abstract class StorageTestBase(IDatabaseHost host) : IAsyncLifetime
{
    protected static readonly DateTime T0 = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>A lease held by worker <c>w1</c> from <see cref="T0"/> for five minutes: the hot writes' tests hold their runs with it.</summary>
    protected static readonly StepLease W1Lease = new("w1", T0, T0.AddMinutes(5));

    private TestDatabase? _db;

    protected TestDatabase Db => _db ?? throw new InvalidOperationException("not initialized");

    protected StorageProvider Provider => host.Provider;

    protected IPipelineStore Pipeline => Db.Get<IPipelineStore>();

    protected IDefinitionSource Definitions => Db.Get<IDefinitionSource>();

    protected ITemplateStore Templates => Db.Get<ITemplateStore>();

    protected IOutboxStore Outbox => Db.Get<IOutboxStore>();

    protected IEmbeddedQueueStore Queue => Db.Get<IEmbeddedQueueStore>();

    public async Task InitializeAsync() => _db = await host.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
    }

    protected static Event NewEvent(long projectId, string kind = "input_file_uploaded", string? dedupKey = null, long? workflowRunId = null) => new()
    {
        ProjectId = projectId,
        Kind = kind,
        FileId = 42,
        DedupKey = dedupKey,
        WorkflowRunId = workflowRunId,
        Payload = new JsonObject { ["kind"] = kind, ["project_id"] = projectId, ["unknown_key"] = "kept" },
        ExtraMetadata = new JsonObject { ["source"] = "test" },
        Source = "amqp",
        TimeCreated = T0,
    };

    /// <summary>A step: its ordinal, its trigger event (null: no trigger_data) and flags.</summary>
    protected sealed record Step(int Ordinal, string? EventName = "input_file_uploaded", bool Active = true, bool Archived = false, string Kind = "webhook");

    protected sealed record SeededWorkflow(long WorkflowId, IReadOnlyList<long> ActionIds)
    {
        /// <summary>Every step, as the trigger index would match them.</summary>
        public IReadOnlyList<MatchedStep> Steps => [.. ActionIds.Select(id => new MatchedStep(id, WorkflowId, "webhook"))];

        public MatchedStep StepAt(int index) => new(ActionIds[index], WorkflowId, "webhook");
    }

    /// <summary>Matched steps of actions that need not exist (the store keeps no foreign key to definitions), in workflow 1.</summary>
    protected static MatchedStep[] Steps(params long[] actionIds) => [.. actionIds.Select(id => new MatchedStep(id, 1, "webhook"))];

    protected async Task<SeededWorkflow> SeedWorkflowAsync(long projectId, bool active = true, bool archived = false, params Step[] steps)
    {
        await using var db = await Db.ContextAsync();
        var workflow = new Workflow
        {
            ProjectId = projectId,
            Name = "flow",
            StringId = "flow_" + Guid.NewGuid().ToString("N")[..20],
            Active = active,
            Archived = archived,
            TimeCreated = T0,
            TimeUpdated = T0,
        };
        db.Workflows.Add(workflow);
        await db.SaveChangesAsync();

        var actions = steps.Select(s => new WorkflowAction
        {
            ProjectId = projectId,
            WorkflowId = workflow.Id,
            Kind = s.Kind,
            PublicName = s.Kind,
            Ordinal = s.Ordinal,
            Active = s.Active,
            Archived = s.Archived,
            TriggerData = s.EventName is null ? [] : new JsonObject { ["event_name"] = s.EventName },
            ConfigData = new JsonObject { ["url"] = "http://127.0.0.1:9/hook", ["ordinal"] = s.Ordinal },
            TimeCreated = T0,
            TimeUpdated = T0,
        }).ToList();
        db.Actions.AddRange(actions);
        await db.SaveChangesAsync();
        return new SeededWorkflow(workflow.Id, actions.Select(a => a.Id).ToList());
    }

    protected static RunClaimRequest ClaimRequest(Event ev, long actionId, long workflowId, string worker, DateTime now, TimeSpan? lease = null, long? eventWorkflowRunId = null) =>
        new(ev.Id, actionId, ev.ProjectId, workflowId, "webhook", eventWorkflowRunId ?? ev.WorkflowRunId, worker, now, now + (lease ?? TimeSpan.FromMinutes(5)));
}
