using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Endpoints;

/// <summary>Diffgram's template routes (12, 13). Templates belong to the installation: one per registered runner.</summary>
public static class ActionTemplateEndpoints
{
    private const string Tag = "Action templates (Diffgram)";

    public static void MapActionTemplateEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("action-template/list", ListAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListActionTemplates").WithSummary("The available templates (one per registered runner), with their config JSON Schema.");
        project.MapGet("action-template/{action_template_id:long}", GetAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetActionTemplate").WithSummary("One template.").ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<ActionTemplateListResponse>> ListAsync(IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var templates = await db.ActionTemplates.AsNoTracking().Where(t => t.IsAvailable).OrderBy(t => t.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ActionTemplateListResponse(templates.Select(ActionTemplateDto.From).ToList()));
    }

    private static async Task<Results<Ok<ActionTemplateResponse>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "action_template_id")] long templateId, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var template = await db.ActionTemplates.AsNoTracking().FirstOrDefaultAsync(t => t.Id == templateId, cancellationToken);
        return template is null
            ? Problems.NotFound($"Action template {templateId} was not found.")
            : TypedResults.Ok(new ActionTemplateResponse(ActionTemplateDto.From(template)));
    }
}
