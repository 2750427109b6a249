namespace Actionflow.Sdk;

/// <summary>
/// How often, and how long apart, a run whose attempt failed in a retryable way is tried again. The delay before
/// attempt n+1 is <c>min(InitialDelay × Factor^(n−1), MaxDelay)</c>, spread by ±<see cref="Jitter"/>, and never shorter
/// than a <c>Retry-After</c> the failure asked for.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>3 attempts, 1 s then 2 s apart, at most 5 minutes, ±10 % jitter.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>One attempt only.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Attempts in all, the first included (1 = no retry).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Delay before the second attempt.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Each further delay is the previous one times this factor.</summary>
    public double Factor { get; init; } = 2;

    /// <summary>No delay is longer than this.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Random spread of each delay, as a fraction (0.1 = ±10 %).</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Throws when a value is out of range.</summary>
    public RetryPolicy Validate()
    {
        if (MaxAttempts is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "max_attempts must be between 1 and 100");
        }

        if (InitialDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "delays must be between 0 and 1 day");
        }

        if (Factor is < 1 or > 100 || double.IsNaN(Factor))
        {
            throw new ArgumentOutOfRangeException(nameof(Factor), Factor, "factor must be between 1 and 100");
        }

        if (Jitter is < 0 or > 1 || double.IsNaN(Jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "jitter must be between 0 and 1");
        }

        return this;
    }

    /// <summary>The delay after failed attempt <paramref name="attempt"/> (from 1), before jitter.</summary>
    public TimeSpan BaseDelay(int attempt)
    {
        var ms = InitialDelay.TotalMilliseconds * Math.Pow(Factor, Math.Max(0, attempt - 1));
        return ms >= MaxDelay.TotalMilliseconds || double.IsInfinity(ms) ? MaxDelay : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>The delay after failed attempt <paramref name="attempt"/>, with jitter drawn from <paramref name="unitRandom"/> in [0, 1).</summary>
    public TimeSpan DelayAfter(int attempt, double unitRandom, TimeSpan? retryAfter = null)
    {
        var spread = 1 + Jitter * (2 * unitRandom - 1);
        var delay = TimeSpan.FromMilliseconds(BaseDelay(attempt).TotalMilliseconds * spread);
        return retryAfter is { } asked && asked > delay ? (asked > MaxDelay ? MaxDelay : asked) : delay;
    }
}
