using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Actionflow.Api.Auth;

/// <summary>The least role an endpoint needs (metadata read by <see cref="ProjectAccessFilter"/>).</summary>
public sealed record RequiredRole(ApiKeyRole Role);

/// <summary>The project named by the route, once <see cref="ProjectAccessFilter"/> admitted the caller to it.</summary>
public sealed class ProjectContext
{
    private Project? _project;

    public Project Project
    {
        get => _project ?? throw new InvalidOperationException("the project access filter did not run for this endpoint");
        internal set => _project = value;
    }

    public long Id => Project.Id;
}

/// <summary>
/// Resolves <c>{project_string_id}</c> and checks the caller may act in it: another project's key gets 404 (as an
/// unknown project does), never 403; a key whose role is below the endpoint's <see cref="RequiredRole"/> gets 403.
/// </summary>
internal sealed class ProjectAccessFilter(ProjectLookup projects, ProjectContext scope) : IEndpointFilter
{
    public const string RouteParameter = "project_string_id";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var stringId = http.GetRouteValue(RouteParameter) as string ?? "";
        var user = http.User;
        var project = await projects.FindAsync(stringId, http.RequestAborted);
        if (project is null || (!user.IsInstallationAdmin() && user.ProjectId() != project.Id))
        {
            return Problems.NotFound($"Project '{stringId}' was not found.");
        }

        var required = http.GetEndpoint()?.Metadata.GetMetadata<RequiredRole>()?.Role ?? ApiKeyRole.Admin;
        if (!user.IsInstallationAdmin() && (user.Role() ?? ApiKeyRole.Viewer) < required)
        {
            return Problems.Forbidden($"This API key's role is {Describe(user.Role())}; this needs {Describe(required)}.");
        }

        scope.Project = project;
        return await next(context);
    }

    private static string Describe(ApiKeyRole? role) => role?.ToString().ToLowerInvariant() ?? "none";
}

/// <summary>Installation-level routes: the admin token only.</summary>
internal sealed class InstallationAdminFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.User.IsInstallationAdmin()
            ? await next(context)
            : Problems.Forbidden("Only the installation admin token (Actionflow__AdminToken) can do this.");
}

public static class RequiredRoleExtensions
{
    /// <summary>The least API key role that may call this endpoint.</summary>
    public static RouteHandlerBuilder Requires(this RouteHandlerBuilder builder, ApiKeyRole role)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new RequiredRole(role));
    }
}
