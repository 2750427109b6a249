using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Validation;

/// <summary>
/// The flow-control fields of a step, checked when it is saved: a filter or condition that cannot compile is refused
/// with its position; <c>depends_on</c> must name non-archived steps of the same workflow and leave the graph without
/// a cycle.
/// </summary>
public static class FlowRules
{
    /// <summary>Checks <c>trigger_data.filter</c> (named under <paramref name="prefix"/>): one error per problem, each with its line and column.</summary>
    public static void Filter(JsonObject trigger, FieldErrors errors, string prefix = "trigger_data")
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (StepFilter.Compile(trigger) is { Succeeded: false } failed)
        {
            foreach (var error in failed.Errors)
            {
                errors.Add($"{prefix}.{StepFilter.Field}", error.ToString());
            }
        }
    }

    /// <summary>
    /// Checks <paramref name="step"/>'s <c>depends_on</c>, <c>condition</c> and <c>else_branch</c> against the other
    /// steps of its workflow as they are stored (the step itself as it is about to be saved).
    /// </summary>
    public static async Task StepAsync(ActionflowDbContext db, WorkflowAction step, FieldErrors errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(errors);
        if (step.ElseBranch && !string.IsNullOrWhiteSpace(step.Condition))
        {
            errors.Add("else_branch", "an else branch runs when no sibling's condition held; it cannot have a condition of its own");
        }
        else if (!string.IsNullOrWhiteSpace(step.Condition))
        {
            foreach (var error in StepFlow.ConditionEnvironment.CompileCondition(step.Condition).Errors)
            {
                errors.Add("condition", error.ToString());
            }
        }

        Concurrency(step.ConcurrencyKey, step.ConcurrencyLimit, errors);
        if (JoinSettings.ParseMode(step.JoinMode) is null)
        {
            errors.Add("join", $"'{step.JoinMode}' is not a join mode; use all or any");
        }

        if (JoinSettings.ParseFailure(step.OnPredecessorFailure) is null)
        {
            errors.Add("on_predecessor_failure", $"'{step.OnPredecessorFailure}' is not allowed; use skip or fail");
        }

        if (step.DependsOn.Distinct().Count() > 1 && (step.ElseBranch || !string.IsNullOrWhiteSpace(step.Condition)))
        {
            errors.Add(step.ElseBranch ? "else_branch" : "condition",
                "a join (several depends_on) runs on its predecessors' outcomes; put conditions on the steps before it");
        }

        var named = step.DependsOn.Distinct().ToList();
        var found = await db.Actions.AsNoTracking()
            .Where(a => named.Contains(a.Id) && a.ProjectId == step.ProjectId)
            .Select(a => new { a.Id, a.WorkflowId, a.Archived })
            .ToListAsync(cancellationToken);
        foreach (var id in named)
        {
            var other = found.FirstOrDefault(a => a.Id == id);
            if (id == step.Id)
            {
                errors.Add("depends_on", $"step {id} is this step: a step cannot depend on itself");
            }
            else if (other is null || other.WorkflowId != step.WorkflowId)
            {
                errors.Add("depends_on", $"step {id} is not a step of workflow {step.WorkflowId}");
            }
            else if (other.Archived)
            {
                errors.Add("depends_on", $"step {id} is archived");
            }
        }

        if (errors.Any || step.Archived)
        {
            return;
        }

        if (step.DependsOn.Count > 0 && !WorkflowGraph.FollowsAStep(step.TriggerEventName))
        {
            errors.Add("trigger_data.event_name", $"a step with depends_on starts when the steps it depends on complete: its trigger must be action_completed, not '{step.TriggerEventName}'");
        }

        var siblings = await db.Actions.AsNoTracking()
            .Where(a => a.WorkflowId == step.WorkflowId && !a.Archived && a.Id != step.Id)
            .ToListAsync(cancellationToken);
        var graph = WorkflowGraph.Build([.. siblings.Append(step).Select(s => new GraphStep(s.Id, s.Ordinal, s.TriggerEventName, s.DependsOn))]);
        foreach (var problem in graph.Problems)
        {
            errors.Add("depends_on", problem.Message);
        }

        if ((step.ElseBranch || !string.IsNullOrWhiteSpace(step.Condition)) && graph.PredecessorsOf(step.Id).Count == 0)
        {
            errors.Add(step.ElseBranch ? "else_branch" : "condition",
                "applies after the step this one follows, and this step follows none (it starts the workflow): use trigger_data.filter instead");
        }
    }

    /// <summary>A step's <c>concurrency</c>: a limit of at least 1, and a key that compiles (with its line and column).</summary>
    public static void Concurrency(string? key, int? limit, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (limit is < 1)
        {
            errors.Add($"{StepConcurrency.Field}.limit", $"{limit} is not a limit: at least 1 run at once");
        }
        else if (limit is null && key is not null)
        {
            errors.Add($"{StepConcurrency.Field}.limit", "a concurrency key needs a limit (how many runs per key at once)");
        }

        if (key is not null)
        {
            foreach (var error in StepConcurrency.Compile(key).Errors)
            {
                errors.Add($"{StepConcurrency.Field}.key", error.ToString());
            }
        }
    }

    /// <summary>A workflow's <c>concurrency_limit</c>: at least 1.</summary>
    public static void WorkflowConcurrency(int? limit, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (limit is < 1)
        {
            errors.Add("concurrency_limit", $"{limit} is not a limit: at least 1 run at once");
        }
    }

    /// <summary>Archiving a step others depend on would leave them dangling: refused, naming them.</summary>
    public static async Task ArchiveAsync(ActionflowDbContext db, WorkflowAction step, FieldErrors errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(errors);
        var dependents = (await db.Actions.AsNoTracking()
                .Where(a => a.WorkflowId == step.WorkflowId && !a.Archived && a.Id != step.Id)
                .Select(a => new { a.Id, a.DependsOn })
                .ToListAsync(cancellationToken))
            .Where(a => a.DependsOn.Contains(step.Id))
            .Select(a => a.Id)
            .ToList();
        if (dependents.Count > 0)
        {
            errors.Add("archived", $"steps {string.Join(", ", dependents)} depend on this step: change their depends_on first");
        }
    }
}
