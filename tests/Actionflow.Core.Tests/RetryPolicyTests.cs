using System.Text.Json.Nodes;
using Actionflow.Core.Engine;
using Actionflow.Sdk;

namespace Actionflow.Core.Tests;

public sealed class RetryPolicyTests
{
    [Fact]
    public void DelayAfter_ExponentialWithCap_NoJitterAtMidpoint()
    {
        var policy = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(1), Factor = 3, MaxDelay = TimeSpan.FromSeconds(5), Jitter = 0.2 };

        Assert.Equal(TimeSpan.FromSeconds(1), policy.DelayAfter(1, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(3), policy.DelayAfter(2, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(5), policy.DelayAfter(3, 0.5));
    }

    [Fact]
    public void DelayAfter_Jitter_StaysWithinTheFraction()
    {
        var policy = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(10), Jitter = 0.1 };

        Assert.Equal(TimeSpan.FromSeconds(9), policy.DelayAfter(1, 0));
        Assert.Equal(11_000, policy.DelayAfter(1, 0.999999).TotalMilliseconds, 1);
    }

    [Fact]
    public void DelayAfter_RetryAfterLongerThanPolicy_IsHonouredUpToMaxDelay()
    {
        var policy = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(30), Jitter = 0 };

        Assert.Equal(TimeSpan.FromSeconds(20), policy.DelayAfter(1, 0.5, TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromSeconds(30), policy.DelayAfter(1, 0.5, TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), policy.DelayAfter(1, 0.5, TimeSpan.FromMilliseconds(10)));
    }

    [Fact]
    public void Apply_StepOverrides_ReplaceOnlyTheNamedFields()
    {
        var policy = RetryPolicies.Apply(RetryPolicy.Default, new JsonObject { ["max_attempts"] = 7, ["initial_delay_ms"] = 250 });

        Assert.Equal(7, policy.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.InitialDelay);
        Assert.Equal(RetryPolicy.Default.Factor, policy.Factor);
        Assert.Equal(RetryPolicy.Default.MaxDelay, policy.MaxDelay);
    }

    [Theory]
    [InlineData("{\"max_attempts\": 0}", "max_attempts")]
    [InlineData("{\"max_attempts\": \"3\"}", "max_attempts")]
    [InlineData("{\"factor\": 0.5}", "factor")]
    [InlineData("{\"jitter\": 2}", "jitter")]
    [InlineData("{\"retries\": 3}", "retry_policy.retries")]
    public void Apply_InvalidOverride_ThrowsNamingTheField(string json, string field)
    {
        var ex = Assert.ThrowsAny<Exception>(() => RetryPolicies.Apply(RetryPolicy.Default, JsonNode.Parse(json)!.AsObject()));

        Assert.True(ex is FormatException or ArgumentOutOfRangeException);
        Assert.Contains(field, ex.Message, StringComparison.OrdinalIgnoreCase);
    }
}
