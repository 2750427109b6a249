using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;

namespace Actionflow.Core.Engine;

/// <summary>
/// The retry policy of a step: its template's (<see cref="ActionTemplateAttribute"/>), overridden field by field by the
/// step's <c>retry_policy</c>. This is the first retry layer; the transports' redelivery of messages whose handling
/// failed (the database away, say) is the second.
/// </summary>
public static class RetryPolicies
{
    public static RetryPolicy For(WorkflowAction action, ActionDescriptor declared)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(declared);
        return Apply(declared.RetryPolicy, action.RetryPolicy);
    }

    /// <summary>
    /// <paramref name="baseline"/> with the fields <paramref name="overrides"/> names. Throws
    /// <see cref="ArgumentOutOfRangeException"/> for out-of-range values and <see cref="FormatException"/> for wrong types.
    /// </summary>
    public static RetryPolicy Apply(RetryPolicy baseline, JsonObject? overrides)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (overrides is null || overrides.Count == 0)
        {
            return baseline;
        }

        var policy = baseline;
        foreach (var (key, value) in overrides)
        {
            policy = key switch
            {
                "max_attempts" => policy with { MaxAttempts = (int)Integer(key, value) },
                "initial_delay_ms" => policy with { InitialDelay = TimeSpan.FromMilliseconds(Integer(key, value)) },
                "max_delay_ms" => policy with { MaxDelay = TimeSpan.FromMilliseconds(Integer(key, value)) },
                "factor" => policy with { Factor = Number(key, value) },
                "jitter" => policy with { Jitter = Number(key, value) },
                _ => throw new FormatException($"retry_policy.{key} is not a retry setting (max_attempts, initial_delay_ms, factor, max_delay_ms, jitter)"),
            };
        }

        return policy.Validate();
    }

    private static long Integer(string key, JsonNode? value) =>
        JsonNodes.TryGetInt64(value, out var n) && n is >= 0 and <= int.MaxValue ? n : throw new FormatException($"retry_policy.{key} must be a non-negative integer");

    private static double Number(string key, JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<double>(out var d) ? d
        : JsonNodes.TryGetInt64(value, out var n) ? n
        : throw new FormatException($"retry_policy.{key} must be a number");
}
