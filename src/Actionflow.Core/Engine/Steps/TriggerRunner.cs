using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Engine;

/// <summary>
/// Runs the step a trigger message names (<c>actions.triggers</c>): the <see cref="StepGate"/> claims its run, the
/// <see cref="StepExecutor"/> runs it, the <see cref="ChainRunner"/> runs what it started here; the verdict settles the message.
/// </summary>
public sealed class TriggerRunner(StepGate gate, StepExecutor executor, ChainRunner chain)
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> RunAsync(TriggerMessage trigger, CancellationToken cancellationToken)
    {
        var gated = await gate.ClaimAsync(trigger, cancellationToken);
        if (gated.Claimed is not { } claimed)
        {
            return gated.Verdict;
        }

        var result = await executor.ExecuteAsync(claimed, 0, cancellationToken);
        await chain.ContinueAsync(result, 0, cancellationToken);
        return result.Verdict;
    }
}
