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
    public static void Configure(RateLimiterOptions options, IOptions<ApiOptions> api)
    {
        var settings = api.Value;
        options.GlobalLimiter = new FailuresOnly(settings, PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            return RateLimitPartition.GetSlidingWindowLimiter("failed from " + address, _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = settings.AuthFailureLimit,
                Window = settings.AuthFailureWindow,
                SegmentsPerWindow = 6,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        }));
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = RejectAsync;
    }

    /// <summary>
    /// Whether a request takes a permit: it presented credentials and they were refused. Every other request is let
    /// through here without looking up a partition (that lookup takes a lock shared by all requests).
    /// </summary>
    internal static bool Counts(HttpContext context, ApiOptions settings) =>
        settings.AuthFailureLimit > 0 && context.User.Identity?.IsAuthenticated != true && context.Request.Headers.Authorization.Count > 0;

    /// <summary>The per-address limiter, consulted only for the requests <see cref="Counts"/> picks.</summary>
    private sealed class FailuresOnly(ApiOptions settings, PartitionedRateLimiter<HttpContext> failures) : PartitionedRateLimiter<HttpContext>
    {
        private static readonly RateLimitLease Granted = new GrantedLease();

        public override RateLimiterStatistics? GetStatistics(HttpContext resource) =>
            Counts(resource, settings) ? failures.GetStatistics(resource) : null;

        protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
            Counts(resource, settings) ? failures.AttemptAcquire(resource, permitCount) : Granted;

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
            Counts(resource, settings) ? failures.AcquireAsync(resource, permitCount, cancellationToken) : ValueTask.FromResult(Granted);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                failures.Dispose();
            }

            base.Dispose(disposing);
        }

        protected override async ValueTask DisposeAsyncCore()
        {
            await failures.DisposeAsync();
            await base.DisposeAsyncCore();
        }
    }

    /// <summary>A permit that costs nothing: shared, nothing to release.</summary>
    private sealed class GrantedLease : RateLimitLease
    {
        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
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
