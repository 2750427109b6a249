using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The rows matched steps need, worked out before their ids are known. A step of the event's own workflow run joins
/// it (the next step of a chain); any other starts a workflow run rooted at the event, one per event and workflow.
/// Each step gets a <c>pending</c> run (with a trigger), or for a step marked <see cref="MatchedStep.HeldBy"/> a run
/// held by the caller (and no trigger); a windowed step (<see cref="MatchedStep.Windowed"/>) gets a window entry instead.
/// </summary>
internal sealed class RunPlan
{
    private readonly List<(Event Event, MatchedStep Step, WorkflowRun? Started)> _steps;
    private readonly Dictionary<WorkflowRun, Event> _roots;

    // Sized for the usual batch, one step per event: no list or table grown by doubling while the plan is made.
    private RunPlan(int capacity)
    {
        _steps = new(capacity);
        _roots = new(capacity);
        NewWorkflowRuns = new(capacity);
    }

    /// <summary>The workflow runs to insert; <see cref="SetRoots"/> gives them their root event ids.</summary>
    public List<WorkflowRun> NewWorkflowRuns { get; }

    public int StepCount => _steps.Count;

    /// <summary>Per matched step, in order: its event, the step, and the new workflow run it starts or joins (null: the event's own).</summary>
    public List<(Event Event, MatchedStep Step, WorkflowRun? Started)> Steps => _steps;

    /// <summary>The windowed steps: each gets a window entry, not a run (nor a workflow run).</summary>
    public List<(Event Event, MatchedStep Step)> Windowed { get; } = [];

    public static RunPlan For(IReadOnlyList<(Event Event, IReadOnlyList<MatchedStep> Steps)> items)
    {
        var plan = new RunPlan(items.Count);
        var started = new Dictionary<(Event, long), WorkflowRun>(items.Count);
        // By index: an interface's enumerator, and each step list's, would be one more allocation each.
        for (var i = 0; i < items.Count; i++)
        {
            var (ev, steps) = items[i];
            for (var j = 0; j < steps.Count; j++)
            {
                var step = steps[j];
                if (step.Windowed && step.SkipReason is null)
                {
                    plan.Windowed.Add((ev, step));
                    continue;
                }

                WorkflowRun? newRun = null;
                var joins = ev.WorkflowRunId is not null && ev.WorkflowId == step.WorkflowId;
                if (!joins && !started.TryGetValue((ev, step.WorkflowId), out newRun))
                {
                    newRun = new WorkflowRun
                    {
                        ProjectId = ev.ProjectId,
                        WorkflowId = step.WorkflowId,
                        Status = WorkflowRunStatus.Running,
                        TimeCreated = ev.TimeCreated,
                        TimeUpdated = ev.TimeCreated,
                    };
                    started[(ev, step.WorkflowId)] = newRun;
                    plan.NewWorkflowRuns.Add(newRun);
                    plan._roots[newRun] = ev;
                }

                plan._steps.Add((ev, step, newRun));
            }
        }

        return plan;
    }

    /// <summary>The event a new workflow run is rooted at.</summary>
    public Event RootOf(WorkflowRun started) => _roots[started];

    /// <summary>Keeps only what hangs on the events in <paramref name="written"/>.</summary>
    public void KeepOnly(HashSet<Event> written)
    {
        _steps.RemoveAll(s => !written.Contains(s.Event));
        Windowed.RemoveAll(s => !written.Contains(s.Event));
        var used = _steps.Where(s => s.Started is not null).Select(s => s.Started!).ToHashSet();
        NewWorkflowRuns.RemoveAll(w => !used.Contains(w));
    }

    /// <summary>
    /// One run per step, numbered by <paramref name="idOf"/> (0 lets the database number it). The events and the new
    /// workflow runs must have their ids by now.
    /// </summary>
    public List<ActionRun> CreateRuns(Func<int, long> idOf)
    {
        var runs = new List<ActionRun>(_steps.Count);
        foreach (var (ev, step, started) in _steps)
        {
            var run = new ActionRun
            {
                Id = idOf(runs.Count),
                ProjectId = ev.ProjectId,
                WorkflowId = step.WorkflowId,
                ActionId = step.ActionId,
                WorkflowRunId = started?.Id ?? ev.WorkflowRunId!.Value,
                EventId = ev.Id,
                Kind = step.Kind,
                Status = ActionRunStatus.Pending,
                Attempt = 0,
                TimeCreated = ev.TimeCreated,
            };
            if ((step.SkipReason ?? step.FailReason) is { } reason)
            {
                // Recorded ended, with why: a condition that did not hold, an else branch not taken, a join decided
                // against. No trigger, no lease.
                run.Status = step.SkipReason is null ? ActionRunStatus.Failed : ActionRunStatus.Skipped;
                run.ErrorReason = reason;
                run.FinishedAt = ev.TimeCreated;
            }
            else if (step.HeldBy is { } lease)
            {
                // What a claim would write, written at once: the caller runs it now, and nothing else may.
                run.Status = ActionRunStatus.Running;
                run.Attempt = 1;
                run.WorkerId = lease.WorkerId;
                run.StartedAt = PipelineStore.Microseconds(lease.StartedAt);
                run.LeaseUntil = PipelineStore.Microseconds(lease.LeaseUntil);
            }

            runs.Add(run);
        }

        return runs;
    }

    /// <summary>The window entries of the windowed steps (the events must have their ids).</summary>
    public List<WindowEntry> CreateEntries() =>
        [.. Windowed.Select(w => new WindowEntry
        {
            ActionId = w.Step.ActionId,
            ProjectId = w.Event.ProjectId,
            WindowKey = w.Step.WindowKey!,
            EventId = w.Event.Id,
            TimeCreated = w.Event.TimeCreated,
        })];

    /// <summary>Gives the new workflow runs their root event ids (the events must have theirs).</summary>
    public void SetRoots()
    {
        foreach (var started in NewWorkflowRuns)
        {
            started.RootEventId = _roots[started].Id;
        }
    }
}
