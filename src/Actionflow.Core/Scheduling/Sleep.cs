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
}
