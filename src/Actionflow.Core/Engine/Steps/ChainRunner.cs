using System.Runtime.CompilerServices;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <summary>
/// Runs, in this worker, the runs recorded held by it: those an event from the broker started, and then each step the
/// previous one's completion event started, down the chain (in a loop; several next steps run at once). A run that
/// cannot finish here (the database stays down past its lease, or the host stops) stays recorded running; once its
/// lease has run out the abandoned-run sweeper hands it to the actions queue.
/// </summary>
public sealed class ChainRunner(StepExecutor executor, ActionSnapshotCache snapshots, RunRecorder recorder, ILogger<ChainRunner> logger)
{
    public ValueTask RunAsync(Event ev, IReadOnlyList<ActionRun> runs, CancellationToken cancellationToken) => RunAsync(ev, runs, 0, cancellationToken);

    /// <summary>Continues after a step that ran at <paramref name="depth"/>.</summary>
    public ValueTask ContinueAsync(StepResult result, int depth, CancellationToken cancellationToken) =>
        result.HeldRuns.Count == 0 ? ValueTask.CompletedTask : RunAsync(result.Emitted!, result.HeldRuns, depth + 1, cancellationToken);

    private ValueTask RunAsync(Event ev, IReadOnlyList<ActionRun> runs, int depth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(runs);
        return runs.Count switch
        {
            0 => ValueTask.CompletedTask,
            1 => RunChainAsync(ev, runs[0], depth, cancellationToken),
            _ => new ValueTask(RunAllAsync(ev, runs, depth, cancellationToken)),
        };
    }

    // Apart from RunAsync so that its closure is allocated only when several runs go at once, not on every call.
    private Task RunAllAsync(Event ev, IReadOnlyList<ActionRun> runs, int depth, CancellationToken cancellationToken) =>
        Task.WhenAll(runs.Select(run => RunChainAsync(ev, run, depth, cancellationToken).AsTask()));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunChainAsync(Event ev, ActionRun run, int depth, CancellationToken cancellationToken)
    {
        while (true)
        {
            StepResult result;
            try
            {
                var step = await snapshots.GetAsync(run.ActionId, cancellationToken);
                if (step is null)
                {
                    await recorder.RecordVanishedAsync(run, cancellationToken);
                    return;
                }

                // The verdict is for a trigger message, and a held run has none: its record says how it ended.
                result = await executor.ExecuteAsync(new ClaimedStep(step, ev, run), depth, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.HeldRunLeft(logger, run.Id, ex);
                return;
            }

            if (result.HeldRuns.Count != 1)
            {
                await RunAsync(result.Emitted ?? ev, result.HeldRuns, depth + 1, cancellationToken);
                return;
            }

            (ev, run, depth) = (result.Emitted!, result.HeldRuns[0], depth + 1);
        }
    }
}
