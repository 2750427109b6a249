using Microsoft.Extensions.Logging;

namespace Actionflow.Messaging;

/// <summary>
/// Shutdown state shared by a transport's consumers: once stopping, no handler starts; when the consumers are
/// cancelled, pauses before a retry are cut short; running handlers get <see cref="MessagingOptions.ShutdownGracePeriod"/>
/// to finish, then their token is cancelled.
/// </summary>
internal sealed class ConsumerLifetime : IDisposable
{
    // After the cancel, handlers only have to notice it and return their message.
    private static readonly TimeSpan AfterCancelWait = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _handlers = new();
    private readonly CancellationTokenSource _pauses = new();
    private volatile bool _stopping;

    public InFlightTracker InFlight { get; } = new();

    /// <summary>Cancelled when handlers must give up: the grace period is over, or the host's shutdown timeout.</summary>
    public CancellationToken HandlerToken => _handlers.Token;

    /// <summary>Cancelled once the consumers are cancelled: a message waiting to be retried goes back right away.</summary>
    public CancellationToken PauseToken => _pauses.Token;

    public bool Stopping => _stopping;

    public void BeginStopping() => _stopping = true;

    public void CancelHandlers() => Cancel(_handlers);

    /// <summary>Call once nothing new can arrive: cuts pauses short, waits for running handlers, cancels the stragglers.</summary>
    public async Task DrainAsync(TimeSpan gracePeriod, ILogger logger)
    {
        _stopping = true;
        Cancel(_pauses);
        Log.Draining(logger, InFlight.Count, (long)gracePeriod.TotalMilliseconds);
        if (!await InFlight.WaitIdleAsync(gracePeriod, HandlerToken))
        {
            Log.GracePeriodOver(logger, InFlight.Count);
            CancelHandlers();
            await InFlight.WaitIdleAsync(AfterCancelWait, CancellationToken.None);
        }
    }

    public void Dispose()
    {
        _handlers.Dispose();
        _pauses.Dispose();
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already drained and disposed.
        }
    }
}
