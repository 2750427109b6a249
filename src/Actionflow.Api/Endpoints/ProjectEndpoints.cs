using System.Text.RegularExpressions;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Actionflow.Storage.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Actionflow.Api.Endpoints;

/// <summary>Installation level: projects (admin token) and a project's API keys (project admin keys too).</summary>
public static partial class ProjectEndpoints
{
    private const string Tag = "Projects and API keys";

    public static void MapProjectEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("projects", CreateProjectAsync).AddEndpointFilter<InstallationAdminFilter>().WithTags(Tag)
            .WithName("CreateProject").WithSummary("Create a project (installation admin token only).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);
    }

    public static void MapApiKeyEndpoints(this RouteGroupBuilder project)
    {
        project.MapPost("api-keys", CreateKeyAsync).Requires(ApiKeyRole.Admin).WithTags(Tag)
            .WithName("CreateApiKey").WithSummary("Create an API key; its client_secret is shown this once.");
        project.MapGet("api-keys", ListKeysAsync).Requires(ApiKeyRole.Admin).WithTags(Tag)
            .WithName("ListApiKeys").WithSummary("The project's API keys (never their secrets).");
        project.MapDelete("api-keys/{client_id}", DeleteKeyAsync).Requires(ApiKeyRole.Admin).WithTags(Tag)
            .WithName("DeleteApiKey").WithSummary("Revoke an API key: refused at once by the worker that answers, and by every other worker within Actionflow__ApiKeyRecheck (1 s).").ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Created<ProjectResponse>, ValidationProblem, ProblemHttpResult>> CreateProjectAsync(
        CreateProjectRequest request, IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.StringId))
        {
            errors.Add("string_id", "is required");
        }
        else if (!StringIdPattern().IsMatch(request.StringId))
        {
            errors.Add("string_id", "must be 1 to 100 lower-case letters, digits, '-' or '_'");
        }

        var name = string.IsNullOrWhiteSpace(request.Name) ? request.StringId : request.Name.Trim();
        if (name is { Length: > 300 })
        {
            errors.Add("name", "must be at most 300 characters");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await db.Projects.AnyAsync(p => p.StringId == request.StringId, cancellationToken))
        {
            return Taken(request.StringId!);
        }

        var project = new Project { StringId = request.StringId!, Name = name!, TimeCreated = time.GetUtcNow().UtcDateTime };
        db.Projects.Add(project);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (DbErrors.IsUniqueViolation(ex))
        {
            return Taken(request.StringId!);
        }

        Log.ProjectCreated(loggers.CreateLogger(typeof(ProjectEndpoints).FullName!), project.Id, project.StringId);
        return TypedResults.Created($"/api/v1/project/{project.StringId}", new ProjectResponse(ProjectDto.From(project)));
    }

    private static async Task<Results<Created<ApiKeyCreatedResponse>, ValidationProblem>> CreateKeyAsync(
        CreateApiKeyRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (!Enum.TryParse<ApiKeyRole>(request.Role, ignoreCase: true, out var role) || !Enum.IsDefined(role) || int.TryParse(request.Role, out _))
        {
            return FieldErrors.One("role", request.Role is null ? "is required: admin, editor or viewer" : $"'{request.Role}' is not a role; use admin, editor or viewer");
        }

        var secret = ApiSecrets.NewSecret();
        var key = new ApiKey
        {
            ProjectId = project.Id,
            ClientId = ApiSecrets.NewClientId(),
            SecretHash = ApiSecrets.Hash(secret),
            Role = role,
            TimeCreated = time.GetUtcNow().UtcDateTime,
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        var roleName = role.ToString().ToLowerInvariant();
        Log.ApiKeyCreated(loggers.CreateLogger(typeof(ProjectEndpoints).FullName!), key.ClientId, roleName, project.Id);
        return TypedResults.Created($"/api/v1/project/{project.Project.StringId}/api-keys/{key.ClientId}", new ApiKeyCreatedResponse(key.ClientId, secret, roleName));
    }

    private static async Task<Ok<ApiKeyListResponse>> ListKeysAsync(ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var keys = await db.ApiKeys.AsNoTracking().Where(k => k.ProjectId == project.Id).OrderBy(k => k.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ApiKeyListResponse(keys.Select(ApiKeyDto.From).ToList()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteKeyAsync(
        [FromRoute(Name = "client_id")] string clientId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, ApiKeyLookup keys,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var deleted = await db.ApiKeys.Where(k => k.ClientId == clientId && k.ProjectId == project.Id).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            return Problems.NotFound($"API key '{clientId}' was not found in this project.");
        }

        keys.Forget(project.Id, clientId);
        Log.ApiKeyDeleted(loggers.CreateLogger(typeof(ProjectEndpoints).FullName!), clientId, project.Id);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult Taken(string stringId) => Problems.Conflict($"A project with string_id '{stringId}' already exists.");

    [GeneratedRegex("^[a-z0-9_-]{1,100}$")]
    private static partial Regex StringIdPattern();
}
