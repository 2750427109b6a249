using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Auth;

/// <summary>
/// HTTP Basic with an API key's client id and secret (Diffgram's scheme), or <c>Bearer &lt;secret&gt;</c>, or
/// <c>Bearer &lt;admin token&gt;</c>. Keys are found by the SHA-256 of the secret; the admin token is compared in
/// constant time. Failures answer 401 problem details with <c>WWW-Authenticate</c>.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyLookup keys,
    AdminToken adminToken,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, new InformationAsDebugLoggerFactory(loggerFactory), encoder)
{
    public const string Challenge = "Basic realm=\"actionflow\", Bearer realm=\"actionflow\"";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return AuthenticateResult.NoResult();
        }

        string? clientId = null;
        string secret;
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryDecodeBasic(header[6..].Trim(), out clientId, out secret))
            {
                return Fail("malformed_basic", "malformed Basic credentials");
            }
        }
        else if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            secret = header[7..].Trim();
            if (adminToken.Matches(secret))
            {
                return Success(ApiPrincipal.ForInstallationAdmin());
            }
        }
        else
        {
            return Fail("unsupported_scheme", "unsupported authorization scheme");
        }

        if (secret.Length is 0 or > 200)
        {
            return Fail("bad_secret", "empty or oversized secret");
        }

        var key = await keys.FindAsync(ApiSecrets.Hash(secret), Context.RequestAborted);
        if (key is null || (clientId is not null && !string.Equals(clientId, key.ClientId, StringComparison.Ordinal)))
        {
            return Fail("unknown_key", "unknown API key");
        }

        return Success(ApiPrincipal.ForKey(key));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = Challenge;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = "Send an API key as HTTP Basic (client_id:client_secret) or as Authorization: Bearer <client_secret>.",
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status403Forbidden, Title = "Forbidden", Detail = "These credentials cannot do this." },
        });
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, ApiPrincipal.Scheme));

    private AuthenticateResult Fail(string code, string reason)
    {
        Log.AuthenticationFailed(Logger, reason);
        ApiMetrics.AuthenticationFailed(code);
        return AuthenticateResult.Fail(reason);
    }

    private static bool TryDecodeBasic(string encoded, out string clientId, out string secret)
    {
        clientId = secret = "";
        Span<byte> buffer = stackalloc byte[512];
        if (encoded.Length > 680 || !Convert.TryFromBase64String(encoded, buffer, out var written))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer[..written]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        clientId = decoded[..colon];
        secret = decoded[(colon + 1)..];
        return true;
    }
}

/// <summary>
/// The configured installation admin token, kept only as its SHA-256. When none is configured, a one-time setup token
/// is made at start (Jupyter/Grafana style): it is logged with the console's address and acts as the admin token until
/// the process stops; every start makes a new one, and configuring <c>Actionflow__AdminToken</c> turns it off.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[]? _hash;

    public AdminToken(IOptions<ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var token = options.Value.AdminToken;
        if (string.IsNullOrEmpty(token) && options.Value.SetupToken)
        {
            SetupToken = ApiSecrets.NewSetupToken();
            token = SetupToken;
        }

        _hash = string.IsNullOrEmpty(token) ? null : ApiSecrets.Hash(token);
    }

    /// <summary>The token made at this start because no admin token is configured; null when one is.</summary>
    public string? SetupToken { get; }

    public bool Matches(string presented) => _hash is not null && ApiSecrets.FixedTimeEquals(presented, _hash);

    /// <summary>Whether <paramref name="presented"/> is this start's setup token (not a configured admin token).</summary>
    public bool IsSetupToken(string presented) => SetupToken is not null && Matches(presented);
}
