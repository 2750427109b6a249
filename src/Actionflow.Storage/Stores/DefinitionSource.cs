using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Storage.Configurations;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class DefinitionSource(IDbContextFactory<ActionflowDbContext> contextFactory) : IDefinitionSource
{
    public async Task<DefinitionsStamp> GetStampAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.DefinitionsVersions
            .Where(v => v.Id == DefinitionsVersion.RowId)
            .Select(v => new DefinitionsStamp(v.Version, v.FullReloadVersion))
            .FirstAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TriggerDefinition>> LoadTriggersAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        // Every non-archived step of every live workflow in one query: inactive steps still count as previous steps.
        return await TriggersAsync(db,
            from a in db.Actions.AsNoTracking()
            join w in db.Workflows on a.WorkflowId equals w.Id
            where w.Active && !w.Archived && !a.Archived
            select a,
            cancellationToken);
    }

    public async Task<DefinitionChanges?> LoadChangesAsync(long sinceVersion, int maxWorkflows, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var changed = await db.Workflows.AsNoTracking()
            .Where(w => EF.Property<long>(w, WorkflowConfiguration.DefinitionsVersionProperty) > sinceVersion)
            .OrderBy(w => w.Id)
            .Select(w => w.Id)
            .Take(maxWorkflows + 1)
            .ToListAsync(cancellationToken);
        if (changed.Count > maxWorkflows)
        {
            return null;
        }

        if (changed.Count == 0)
        {
            return new DefinitionChanges([], []);
        }

        // The same rows as a full load, of the changed workflows only: one that no longer runs comes back with no triggers.
        var triggers = await TriggersAsync(db,
            from a in db.Actions.AsNoTracking()
            join w in db.Workflows on a.WorkflowId equals w.Id
            where changed.Contains(w.Id) && w.Active && !w.Archived && !a.Archived
            select a,
            cancellationToken);
        return new DefinitionChanges(changed, triggers);
    }

    private static async Task<IReadOnlyList<TriggerDefinition>> TriggersAsync(ActionflowDbContext db, IQueryable<WorkflowAction> live, CancellationToken cancellationToken)
    {
        // Streamed and compacted row by row: the trees as parsed (each holding its source document) die young, in the
        // first collection, instead of all 100,000 of a large installation reaching the oldest generation together.
        var compactor = new JsonCompactor();
        var steps = new List<WorkflowAction>();
        await foreach (var step in live.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            steps.Add(Compact(step, compactor));
        }

        var workflowIds = steps.Select(s => s.WorkflowId).Distinct().ToList();
        var workflowLimits = workflowIds.Count == 0
            ? []
            : await db.Workflows.AsNoTracking()
                .Where(w => workflowIds.Contains(w.Id) && w.ConcurrencyLimit != null)
                .ToDictionaryAsync(w => w.Id, w => w.ConcurrencyLimit, cancellationToken);
        var triggers = new List<TriggerDefinition>();
        foreach (var workflow in steps.GroupBy(s => s.WorkflowId))
        {
            var order = workflow.Select(s => (s.Id, s.Ordinal)).ToList();
            foreach (var step in workflow.Where(s => s.Active))
            {
                var eventName = EventNameOf(step.Kind, step.TriggerData);
                if (string.IsNullOrEmpty(eventName))
                {
                    continue;
                }

                triggers.Add(new TriggerDefinition(
                    step.Id,
                    step.ProjectId,
                    step.WorkflowId,
                    step.Kind,
                    step.Ordinal,
                    compactor.Share(eventName),
                    step.TriggerData,
                    step.ConfigData,
                    StepOrder.Previous(order, step.Ordinal))
                {
                    // What the actions consumer re-checks before a run, so a run of an active step reads no definitions.
                    Snapshot = new ActionSnapshot(step, true, false, StepOrder.Previous(order, step.Ordinal), StepOrder.HasNext(order, step.Ordinal))
                    {
                        WorkflowConcurrencyLimit = workflowLimits.GetValueOrDefault(step.WorkflowId),
                    },
                    DependsOn = step.DependsOn,
                });
            }
        }

        return triggers;
    }

    /// <summary>
    /// The step as the index keeps it for as long as its definitions do not change: every JSON tree built and compact,
    /// names shared, and equal column values one instance (an empty column, a common trigger): read-only from here on.
    /// </summary>
    private static WorkflowAction Compact(WorkflowAction step, JsonCompactor compactor)
    {
        step.Kind = compactor.Share(step.Kind);
        step.PublicName = compactor.Share(step.PublicName);
        step.Description = compactor.Share(step.Description);
        step.Icon = compactor.Share(step.Icon);
        step.JoinMode = compactor.Share(step.JoinMode);
        step.OnPredecessorFailure = compactor.Share(step.OnPredecessorFailure);
        step.Condition = compactor.Share(step.Condition);
        step.ConcurrencyKey = compactor.Share(step.ConcurrencyKey);
        step.TriggerData = compactor.Intern(step.TriggerData);
        step.Precondition = compactor.Intern(step.Precondition);
        step.CompletionConditionData = compactor.Intern(step.CompletionConditionData);
        step.ConfigData = compactor.Intern(step.ConfigData);
        step.Output = compactor.Intern(step.Output);
        step.OutputInterface = compactor.Intern(step.OutputInterface);
        step.RetryPolicy = compactor.Intern(step.RetryPolicy);
        return step;
    }

    /// <summary>One step with a malformed trigger_data (say a number as event_name) must not hide every other trigger.</summary>
    private static string? EventNameOf(string kind, JsonObject triggerData)
    {
        try
        {
            return new WorkflowAction { Kind = kind, TriggerData = triggerData }.TriggerEventName;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
