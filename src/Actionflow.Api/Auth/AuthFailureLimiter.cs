using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Auth;

/// <summary>
/// ASP.NET Core's rate limiter, applied to failed authentications only: a request that presented credentials and was
/// not authenticated takes a permit of its client address's sliding window (<c>Actionflow__AuthFailureLimit</c> per
/// <c>Actionflow__AuthFailureWindow</c>); once they are spent, such requests get 429 with Retry-After instead of 401.
/// Requests with valid credentials, and requests with none (health checks, pages), never take a permit.
/// </summary>
internal static class AuthFailureLimiter
{
    public static void Configure(RateLimiterOptions options)
    {
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(Partition);
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = RejectAsync;
    }

    private static RateLimitPartition<string> Partition(HttpContext context)
    {
        var settings = context.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
        if (settings.AuthFailureLimit == 0 || context.User.Identity?.IsAuthenticated == true || context.Request.Headers.Authorization.Count == 0)
        {
            return RateLimitPartition.GetNoLimiter("authenticated or anonymous");
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return RateLimitPartition.GetSlidingWindowLimiter("failed from " + address, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = settings.AuthFailureLimit,
            Window = settings.AuthFailureWindow,
            SegmentsPerWindow = 6,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        ApiMetrics.Throttled();
        var http = context.HttpContext;
        var window = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.AuthFailureWindow;
        var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : window / 6;
        var seconds = (int)Math.Ceiling(Math.Max(1, wait.TotalSeconds));
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many failed authentications",
                Detail = $"Too many requests from this address presented credentials that were refused; try again in {seconds} s.",
            },
        });
    }
}
