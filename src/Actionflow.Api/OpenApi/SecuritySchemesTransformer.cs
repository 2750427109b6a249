using Actionflow.Api.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Actionflow.Api.OpenApi;

/// <summary>Declares the two ways to send an API key (Basic, Bearer) and requires one on every API operation.</summary>
internal sealed class SecuritySchemesTransformer : IOpenApiDocumentTransformer
{
    private const string Basic = "basic";
    private const string Bearer = "bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Actionflow",
            Version = "v1",
            Description = "Diffgram-compatible workflow API, plus events, workflow runs, projects and API keys. " +
                "Authenticate with HTTP Basic (client_id:client_secret) or Authorization: Bearer <client_secret | admin token>. " +
                "Errors are RFC 7807 problem details; request bodies are limited to 1 MiB. Datetimes are ISO 8601 UTC.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Basic] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "basic",
            Description = "An API key: client_id as user name, client_secret as password (Diffgram's scheme).",
        };
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key's client_secret, or the installation admin token.",
        };

        foreach (var (path, item) in document.Paths)
        {
            if (!path.StartsWith("/api/", StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }

            foreach (var operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Basic, document)] = [] });
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] });
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Missing or wrong credentials (problem details)." });
            }
        }

        return Task.CompletedTask;
    }
}
