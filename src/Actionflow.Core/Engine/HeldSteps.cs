using Actionflow.Core.Abstractions;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>Where the runs of the steps an event starts are run.</summary>
public enum StepPlacement
{
    /// <summary>Every step through the actions queue (any worker takes it).</summary>
    ActionsQueue,
    /// <summary>Up to <see cref="EngineOptions.InProcessSteps"/> steps recorded held by this worker, which runs them at once.</summary>
    ThisWorker,
}

/// <summary>
/// Marks the first <see cref="EngineOptions.InProcessSteps"/> of matched steps to be recorded held by this worker, under a
/// lease that starts now, so that it runs them itself with no trigger message (<see cref="ChainRunner"/>).
/// </summary>
public sealed class HeldSteps(IOptions<EngineOptions> options, TimeProvider time)
{
    public IReadOnlyList<MatchedStep> Hold(IReadOnlyList<MatchedStep> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        var engine = options.Value;
        if (engine.InProcessSteps == 0 || matches.Count == 0)
        {
            return matches;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var lease = new StepLease(engine.WorkerId, now, now + engine.LeaseDuration);
        var marked = new MatchedStep[matches.Count];
        var held = 0;
        for (var i = 0; i < marked.Length; i++)
        {
            // A windowed step does not run now: its event goes into its window.
            marked[i] = held < engine.InProcessSteps && matches[i] is { Windowed: false, Join: null, SkipReason: null, FailReason: null } ? matches[i] with { HeldBy = lease } : matches[i];
            held += marked[i].HeldBy is null ? 0 : 1;
        }

        return marked;
    }
}
