using System.Text.RegularExpressions;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Core.Secrets;
using Actionflow.Storage.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Actionflow.Api.Endpoints;

/// <summary>
/// A project's secrets: set, list (names and metadata), delete. No route returns a value: an editor sets them and every
/// step of the project uses them (<c>{{ secrets.NAME }}</c>, opened only when a run executes); a viewer does not see them.
/// </summary>
public static partial class SecretEndpoints
{
    public const int MaxValueLength = 65536;
    private const string Tag = "Secrets";

    public static void MapSecretEndpoints(this RouteGroupBuilder project)
    {
        project.MapPost("secrets", SetAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("SetSecret")
            .WithSummary("Create a secret, or replace its value: 201 when created, 200 when replaced. The value is sealed (AES-256-GCM) and never returned.")
            .ProducesValidationProblem();
        project.MapGet("secrets", ListAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("ListSecrets").WithSummary("The project's secrets: names and metadata only (editor or admin; viewers cannot list them).");
        project.MapDelete("secrets/{name}", DeleteAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("DeleteSecret").WithSummary("Delete a secret; steps that refer to it fail until it is set again.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Created<SecretResponse>, Ok<SecretResponse>, ValidationProblem, ProblemHttpResult>> SetAsync(
        SetSecretRequest request, ProjectContext project, SecretStore store, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.Name))
        {
            errors.Add("name", "is required");
        }
        else if (!NamePattern().IsMatch(request.Name))
        {
            errors.Add("name", "must be 1 to 64 letters, digits or '_', not starting with a digit (it is used as {{ secrets.NAME }})");
        }

        if (string.IsNullOrEmpty(request.Value))
        {
            errors.Add("value", "is required");
        }
        else if (request.Value.Length > MaxValueLength)
        {
            errors.Add("value", $"must be at most {MaxValueLength} characters");
        }
        else if (request.Value.Contains("{{", StringComparison.Ordinal) || request.Value.Contains("{%", StringComparison.Ordinal))
        {
            // Secrets are put into configs before the actions' own templates render: markup in one would be run as a template.
            errors.Add("value", "must not contain '{{' or '{%' (template markup)");
        }

        if (request.Description is { Length: > 500 })
        {
            errors.Add("description", "must be at most 500 characters");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        try
        {
            var (secret, created) = await store.SetAsync(project.Id, request.Name!, request.Value!, request.Description, cancellationToken);
            var body = new SecretResponse(SecretDto.From(secret));
            return created ? TypedResults.Created($"secrets/{secret.Name}", body) : TypedResults.Ok(body);
        }
        catch (SecretUnavailableException ex)
        {
            return Problems.Conflict(ex.Message);
        }
    }

    private static async Task<Ok<SecretListResponse>> ListAsync(ProjectContext project, SecretStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SecretListResponse((await store.ListAsync(project.Id, cancellationToken)).Select(SecretDto.From).ToList()));

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        [FromRoute(Name = "name")] string name, ProjectContext project, SecretStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(project.Id, name, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound($"Secret '{name}' was not found in this project.");

    [GeneratedRegex(ConfigSecrets.NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
