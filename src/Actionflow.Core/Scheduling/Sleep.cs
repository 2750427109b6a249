using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Scheduling;

/// <summary>A sleep measured by the <see cref="TimeProvider"/> (so a fake clock drives it in tests) that a signal cuts short.</summary>
internal static class Sleep
{
    /// <summary>Returns after <paramref name="duration"/> on <paramref name="time"/>'s clock, or as soon as <paramref name="name"/> is notified.</summary>
    public static async Task UntilSignaledAsync(IOutboxSignal signal, string name, TimeSpan duration, TimeProvider time, CancellationToken cancellationToken)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(duration, time, done.Token);
        var woken = signal.WaitAsync(name, Timeout.InfiniteTimeSpan, done.Token);
        await Task.WhenAny(timer, woken);
        await done.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static readonly TimeSpan MaxFailureBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="pass"/> until <paramref name="stoppingToken"/> stops, sleeping between passes for as long as
    /// the pass asks (cut short by <paramref name="name"/>'s signal). A pass that throws is reported to
    /// <paramref name="failed"/> with the backoff before the next try (1 s, doubling to 30 s, reset by a pass that works).
    /// </summary>
    public static async Task RunPassesAsync(
        Func<CancellationToken, Task<TimeSpan>> pass, Action<TimeSpan, Exception> failed, IOutboxSignal signal, string name, TimeProvider time,
        CancellationToken stoppingToken)
    {
        var failureBackoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await pass(stoppingToken);
                failureBackoff = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failed(failureBackoff, ex);
                wait = failureBackoff;
                failureBackoff = TimeSpan.FromTicks(Math.Min(failureBackoff.Ticks * 2, MaxFailureBackoff.Ticks));
            }

            if (wait <= TimeSpan.Zero)
            {
                continue;
            }

            try
            {
                await UntilSignaledAsync(signal, name, wait, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
