using System.Diagnostics.Metrics;

namespace Actionflow.Api;

/// <summary>The API's counters, in the meter <c>Actionflow</c> beside the engine's.</summary>
internal static class ApiMetrics
{
    private static readonly Meter Meter = new("Actionflow");

    private static readonly Counter<long> AuthenticationFailures = Meter.CreateCounter<long>(
        "actionflow.api.authentication_failures", "{request}",
        "Requests whose credentials were refused, by reason (malformed_basic, unsupported_scheme, bad_secret, unknown_key)");

    private static readonly Counter<long> RateLimited = Meter.CreateCounter<long>(
        "actionflow.api.rate_limited", "{request}", "Requests refused with 429 after too many authentication failures from their address");

    public static void AuthenticationFailed(string reason) => AuthenticationFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public static void Throttled() => RateLimited.Add(1);
}
