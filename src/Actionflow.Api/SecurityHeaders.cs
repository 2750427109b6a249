using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Actionflow.Api;

/// <summary>
/// Headers every answer of the host carries, the API's and any page served beside it: no MIME sniffing, never framed
/// by another site (clickjacking), and nothing under <c>/api</c> kept by a cache (answers hold keys' secrets and
/// project data). Registered as a startup filter so it wraps the whole pipeline whatever else maps routes.
/// </summary>
internal sealed class SecurityHeadersStartupFilter : IStartupFilter
{
    public const string FrameAncestors = "frame-ancestors 'none'";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            // At the moment headers go out: an exception handler clears headers set earlier.
            context.Response.OnStarting(static state => Apply((HttpContext)state), context);
            return nextMiddleware(context);
        });
        next(app);
    };

    private static Task Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        if (string.IsNullOrEmpty(headers.XFrameOptions))
        {
            headers.XFrameOptions = "DENY";
        }

        // Only frame-ancestors: scripts, styles and the Blazor circuit's websocket stay the page's own business; a
        // page that sets a policy of its own gets frame-ancestors added to it.
        var policy = headers.ContentSecurityPolicy.ToString();
        if (string.IsNullOrEmpty(policy))
        {
            headers.ContentSecurityPolicy = FrameAncestors;
        }
        else if (!policy.Contains("frame-ancestors", StringComparison.OrdinalIgnoreCase))
        {
            headers.ContentSecurityPolicy = policy.TrimEnd().TrimEnd(';') + "; " + FrameAncestors;
        }

        if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            headers.CacheControl = "no-store";
        }

        return Task.CompletedTask;
    }
}
