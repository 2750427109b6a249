using System.Text.Json;
using System.Text.Json.Serialization;
using Actionflow.Api;
using Actionflow.Api.Auth;
using Actionflow.Api.Endpoints;
using Actionflow.Api.Errors;
using Actionflow.Api.OpenApi;
using Actionflow.Api.Validation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

public static class ApiServiceCollectionExtensions
{
    /// <summary>The HTTP API (see <see cref="AddActionflowApi"/>), its settings bound from the <c>Actionflow</c> section.</summary>
    public static Actionflow.Core.ActionflowBuilder AddHttpApi(this Actionflow.Core.ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddActionflowApi(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// The HTTP API: JSON in snake_case, problem details for every error, API key / admin token authentication,
    /// OpenAPI. Needs the engine (<c>AddActionflowEngine</c>) and storage (<c>AddActionflowStorage</c>).
    /// </summary>
    public static IServiceCollection AddActionflowApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<Actionflow.Api.ApiOptions>().Bind(configuration.GetSection("Actionflow")).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AdminToken>();
        services.AddSingleton<ApiKeyLookup>();
        services.AddSingleton<ProjectLookup>();
        services.AddHostedService<SetupTokenAnnouncer>();
        services.AddSingleton<ConfigSchemas>();
        services.AddSingleton<Definitions>();
        services.AddScoped<ProjectContext>();

        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        // Binding failures throw, so BadRequestExceptionHandler can answer with the field at fault.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            if (c.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
            {
                c.ProblemDetails.Detail ??= "Send the body as JSON (Content-Type: application/json).";
            }
            else if (c.ProblemDetails.Status == StatusCodes.Status404NotFound)
            {
                c.ProblemDetails.Detail ??= "No route matches this path.";
            }
            else if (c.ProblemDetails.Status == StatusCodes.Status405MethodNotAllowed)
            {
                c.ProblemDetails.Detail ??= "This path does not take this HTTP method.";
            }
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();

        services.AddAuthentication(ApiPrincipal.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiPrincipal.Scheme, configureOptions: null);
        services.AddAuthorization();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<ApiOptions>>(AuthFailureLimiter.Configure);
        services.AddTransient<IStartupFilter, SecurityHeadersStartupFilter>();
        // The server's name and version tell a scanner what to try; nothing else needs them.
        services.Configure<KestrelServerOptions>(o => o.AddServerHeader = false);
        services.AddOpenApi(o => o.AddDocumentTransformer<SecuritySchemesTransformer>().AddDocumentTransformer<FlowControlDescriptions>());
        return services;
    }

    /// <summary>The API's middleware and routes: <c>/api/v1/...</c>, <c>/openapi/v1.json</c> and the reference page <c>/scalar</c>.</summary>
    public static WebApplication MapActionflowApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Before routing: routing itself answers 415 for a non-JSON Content-Type, which this middleware normalises.
        app.UseMiddleware<JsonContentTypeMiddleware>();
        app.UseRouting();
        app.UseAuthentication();
        // Between the two: it sees who failed to authenticate, and answers 429 before the 401 would be written.
        app.UseRateLimiter();
        app.UseAuthorization();
        // After authorization: a body is read only once the caller has proved who they are (an anonymous 3 MiB upload
        // is answered 401 without reading it).
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        // Innermost: sees the bare 400 a generated request delegate ends a failed query binding with, and names the field.
        app.UseMiddleware<QueryBindingFailureMiddleware>();

        // The document describes the public API and holds no data: readable without credentials, like the source.
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference(o => o.WithTitle("Actionflow API")).AllowAnonymous();

        var api = app.MapGroup("/api/v1").RequireAuthorization();
        api.MapProjectEndpoints();
        api.MapInstallationEndpoints();
        api.MapInstallationDeadLetterEndpoints();
        var project = api.MapGroup("/project/{" + ProjectAccessFilter.RouteParameter + "}").AddEndpointFilter<ProjectAccessFilter>();
        project.MapWorkflowEndpoints();
        project.MapScheduleEndpoints();
        project.MapActionEndpoints();
        project.MapActionTemplateEndpoints();
        project.MapEventEndpoints();
        project.MapWorkflowRunEndpoints();
        project.MapDeadLetterEndpoints();
        project.MapApiKeyEndpoints();
        project.MapOverviewEndpoints();
        project.MapRunStreamEndpoints();
        project.MapSecretEndpoints();
        return app;
    }
}
