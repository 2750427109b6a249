using Actionflow.Core.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>
/// Accepts an event that arrived outside a message handler (over HTTP) and runs the steps it starts in this worker once
/// the caller has been answered, as the events consumer does for an event from the broker, instead of sending each
/// through the actions queue. The runs are recorded held by this worker, under its lease, in the event's own transaction,
/// so the answer still waits only for durability. At most <see cref="EngineOptions.DetachedChains"/> events' chains run so
/// at once; past that, and while the host stops, events go through the actions queue as before. A run this worker does
/// not finish (it dies, or the host stops before the run ends) stays recorded running until its lease runs out, and the
/// <see cref="AbandonedRunSweeper"/> then hands it to the actions queue.
/// </summary>
public sealed class DetachedChains(EventIngestor ingestor, ChainRunner chain, IOptions<EngineOptions> options, ILogger<DetachedChains> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _abandon = new();
    private readonly Lock _gate = new();
    private int _inFlight;
    private bool _stopping;
    private TaskCompletionSource? _idle;

    /// <summary>Chains running (or about to) in the background now.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Records the event, then starts its held runs in the background; returns once the event is durable.</summary>
    public async Task<IngestResult> IngestAsync(Event ev, CancellationToken cancellationToken)
    {
        if (!TryEnter())
        {
            return await ingestor.IngestAsync(ev, StepPlacement.ActionsQueue, cancellationToken);
        }

        IngestResult result;
        try
        {
            result = await ingestor.IngestAsync(ev, StepPlacement.ThisWorker, cancellationToken);
        }
        catch
        {
            Exit();
            throw;
        }

        if (result.HeldRuns.Count == 0)
        {
            Exit();
            return result;
        }

        // Not on the caller's thread: its answer goes out now, and the chain must not see its request being aborted.
        _ = Task.Run(() => RunAsync(result), CancellationToken.None);
        return result;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>New events go through the actions queue from now on; the chains under way get until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task idle;
        lock (_gate)
        {
            _stopping = true;
            if (_inFlight == 0)
            {
                return;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Their runs stay recorded running under this worker's lease; once it runs out the sweeper re-queues them.
            Log.DetachedChainsAbandoned(logger, InFlight);
            await _abandon.CancelAsync();
        }
    }

    public void Dispose() => _abandon.Dispose();

    private async Task RunAsync(IngestResult result)
    {
        try
        {
            await chain.RunAsync(result.Event, result.HeldRuns, _abandon.Token);
        }
        catch (Exception ex)
        {
            // ChainRunner records what it can; what it could not is left to the lease, as for a chain started by the broker.
            Log.DetachedChainFailed(logger, result.Event.Id, ex);
        }
        finally
        {
            Exit();
        }
    }

    private bool TryEnter()
    {
        lock (_gate)
        {
            if (_stopping || _inFlight >= options.Value.DetachedChains)
            {
                return false;
            }

            _inFlight++;
            return true;
        }
    }

    private void Exit()
    {
        lock (_gate)
        {
            if (--_inFlight == 0 && _stopping)
            {
                _idle?.TrySetResult();
            }
        }
    }
}
