namespace Actionflow.Core.FlowControl;

/// <summary>A step's <c>concurrency: {key, limit}</c> (runs per key at once) and the workflow's limit; null means no limit.</summary>
public sealed record ConcurrencyLimits(int? PerKey, int? PerWorkflow)
{
    public static ConcurrencyLimits None { get; } = new(null, null);
}

/// <summary>A run waiting for a slot: its id, its concurrency key (the evaluated key expression), in arrival order.</summary>
public sealed record WaitingRun(long RunId, string Key)
{
    /// <summary>
    /// The per-key limit of this run's step, when runs of several steps are decided together (under their workflow's
    /// limit, each step with its own); null: the decision's <see cref="ConcurrencyLimits.PerKey"/>.
    /// </summary>
    public int? KeyLimit { get; init; }

    /// <summary>The key as the reason names it (<see cref="Key"/> may be qualified by the step); null: <see cref="Key"/>.</summary>
    public string? ShownKey { get; init; }
}

/// <summary>A run that must wait, and why (for the run's status line).</summary>
public sealed record HeldRun(long RunId, string Reason);

/// <summary>The runs to start now (in arrival order) and the ones that keep waiting.</summary>
public sealed record AdmissionDecision(IReadOnlyList<long> Admit, IReadOnlyList<HeldRun> Hold);

public static class ConcurrencyAdmission
{
    /// <summary>
    /// Walks the waiting runs in arrival order and admits each one whose key and workflow both have a free slot,
    /// counting it at once. A full key holds only its own runs (later runs of other keys go ahead: no head-of-line
    /// blocking across keys), and never lets a later run of the same key overtake an earlier one; a full workflow
    /// holds everything. <paramref name="runningByKey"/> counts the runs of this step running now per key;
    /// <paramref name="runningInWorkflow"/> the runs of the workflow running now.
    /// </summary>
    public static AdmissionDecision Decide(
        ConcurrencyLimits limits,
        IReadOnlyDictionary<string, int> runningByKey,
        int runningInWorkflow,
        IReadOnlyList<WaitingRun> waiting)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(runningByKey);
        ArgumentNullException.ThrowIfNull(waiting);
        if (limits.PerKey is < 1 || limits.PerWorkflow is < 1 || waiting.Any(w => w.KeyLimit is < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(limits), "limits are at least 1");
        }

        var admit = new List<long>();
        var hold = new List<HeldRun>();
        var perKey = new Dictionary<string, int>(runningByKey, StringComparer.Ordinal);
        var inWorkflow = runningInWorkflow;
        foreach (var run in waiting)
        {
            if (limits.PerWorkflow is { } wl && inWorkflow >= wl)
            {
                hold.Add(new HeldRun(run.RunId, $"waiting: the workflow has {inWorkflow} of {wl} runs running"));
                continue;
            }

            var running = perKey.GetValueOrDefault(run.Key);
            if ((run.KeyLimit ?? limits.PerKey) is { } kl && running >= kl)
            {
                hold.Add(new HeldRun(run.RunId, $"waiting: key {run.ShownKey ?? run.Key} has {running} of {kl} runs running"));
                continue;
            }

            admit.Add(run.RunId);
            perKey[run.Key] = running + 1;
            inWorkflow++;
        }

        return new AdmissionDecision(admit, hold);
    }
}
