using Actionflow.Core.Domain;

namespace Actionflow.Api.Contracts;

public sealed record CreateProjectRequest(string? StringId, string? Name);

public sealed record ProjectDto(long Id, string StringId, string Name)
{
    public static ProjectDto From(Project p) => new(p.Id, p.StringId, p.Name);
}

public sealed record ProjectResponse(ProjectDto Project);

/// <summary>Body of <c>POST api-keys</c>: <c>role</c> is <c>admin</c>, <c>editor</c> or <c>viewer</c>.</summary>
public sealed record CreateApiKeyRequest(string? Role);

/// <summary>A new key. <c>client_secret</c> is shown this once; only its hash is stored.</summary>
public sealed record ApiKeyCreatedResponse(string ClientId, string ClientSecret, string Role);

public sealed record ApiKeyDto(string ClientId, string Role, DateTime TimeCreated)
{
    public static ApiKeyDto From(ApiKey k) => new(k.ClientId, k.Role.ToString().ToLowerInvariant(), k.TimeCreated);
}

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyDto> ApiKeyList);
