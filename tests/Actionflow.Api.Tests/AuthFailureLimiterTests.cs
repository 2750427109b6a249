using System.Net;
using System.Security.Claims;
using Actionflow.Api.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Tests;

/// <summary>Only a request that presented credentials and was refused takes a permit of its address's window.</summary>
public sealed class AuthFailureLimiterTests
{
    [Fact]
    public void GlobalLimiter_CountsRefusedCredentialsOnly_PerAddress()
    {
        var options = new RateLimiterOptions();
        AuthFailureLimiter.Configure(options, Options.Create(new ApiOptions { AuthFailureLimit = 2, AuthFailureWindow = TimeSpan.FromMinutes(1) }));
        using var limiter = options.GlobalLimiter!;
        var authenticated = Request("10.0.0.1", "Bearer good", authenticated: true);
        var anonymous = Request("10.0.0.1", authorization: null, authenticated: false);

        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.AttemptAcquire(authenticated).IsAcquired);
            Assert.True(limiter.AttemptAcquire(anonymous).IsAcquired);
        }

        var refused = Request("10.0.0.1", "Bearer wrong", authenticated: false);
        Assert.True(limiter.AttemptAcquire(refused).IsAcquired);
        Assert.True(limiter.AttemptAcquire(refused).IsAcquired);
        Assert.False(limiter.AttemptAcquire(refused).IsAcquired);
        Assert.True(limiter.AttemptAcquire(Request("10.0.0.2", "Bearer wrong", authenticated: false)).IsAcquired);
        // Spent failures do not hold back the same address's valid requests.
        Assert.True(limiter.AttemptAcquire(authenticated).IsAcquired);
    }

    [Fact]
    public void GlobalLimiter_LimitZero_NeverRefuses()
    {
        var options = new RateLimiterOptions();
        AuthFailureLimiter.Configure(options, Options.Create(new ApiOptions { AuthFailureLimit = 0 }));
        using var limiter = options.GlobalLimiter!;
        var refused = Request("10.0.0.1", "Bearer wrong", authenticated: false);

        for (var i = 0; i < 100; i++)
        {
            Assert.True(limiter.AttemptAcquire(refused).IsAcquired);
        }
    }

    private static DefaultHttpContext Request(string address, string? authorization, bool authenticated)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (authorization is not null)
        {
            http.Request.Headers.Authorization = authorization;
        }

        http.User = authenticated ? new ClaimsPrincipal(new ClaimsIdentity([new Claim("x", "y")], ApiPrincipal.Scheme)) : new ClaimsPrincipal(new ClaimsIdentity());
        return http;
    }
}
