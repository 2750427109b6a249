using System.Globalization;
using System.Security.Claims;
using Actionflow.Core.Domain;

namespace Actionflow.Api.Auth;

/// <summary>What a request's credentials prove: the installation admin token, or one API key of one project.</summary>
public static class ApiPrincipal
{
    public const string Scheme = "ActionflowApiKey";
    public const string ProjectIdClaim = "actionflow:project_id";
    public const string RoleClaim = "actionflow:role";
    public const string ClientIdClaim = "actionflow:client_id";
    public const string InstallationAdminClaim = "actionflow:installation_admin";

    public static ClaimsPrincipal ForInstallationAdmin() =>
        new(new ClaimsIdentity([new Claim(InstallationAdminClaim, "true")], Scheme));

    public static ClaimsPrincipal ForKey(ApiKey key) =>
        new(new ClaimsIdentity(
            [
                new Claim(ProjectIdClaim, key.ProjectId.ToString(CultureInfo.InvariantCulture)),
                new Claim(RoleClaim, key.Role.ToString()),
                new Claim(ClientIdClaim, key.ClientId),
            ],
            Scheme));

    public static bool IsInstallationAdmin(this ClaimsPrincipal principal) =>
        principal.HasClaim(InstallationAdminClaim, "true");

    public static long? ProjectId(this ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirstValue(ProjectIdClaim), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    public static ApiKeyRole? Role(this ClaimsPrincipal principal) =>
        Enum.TryParse<ApiKeyRole>(principal.FindFirstValue(RoleClaim), out var role) ? role : null;
}
