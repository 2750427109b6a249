using Actionflow.Core.Domain;

namespace Actionflow.Api.Contracts;

/// <summary>Sets a secret: created, or its value (and description, when sent) replaced.</summary>
/// <param name="Name">Letters, digits and <c>_</c>, not starting with a digit, at most 64; referenced as <c>{{ secrets.NAME }}</c>.</param>
/// <param name="Value">The value; write-only: no response ever contains it.</param>
/// <param name="Description">What it is for, for people (optional).</param>
public sealed record SetSecretRequest(string? Name, string? Value, string? Description);

/// <summary>A secret as the API shows it: its name and metadata, never its value.</summary>
public sealed record SecretDto(string Name, string? Description, string KeyId, DateTime TimeCreated, DateTime TimeUpdated)
{
    public static SecretDto From(ProjectSecret s) => new(s.Name, s.Description, s.KeyId, s.TimeCreated, s.TimeUpdated);
}

public sealed record SecretResponse(SecretDto Secret);

public sealed record SecretListResponse(IReadOnlyList<SecretDto> SecretList);
