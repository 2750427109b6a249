using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Actionflow.Core.Domain;
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

    /// <summary>Longest API key secret accepted, in characters (ours are 49).</summary>
    private const int MaxSecretLength = 200;

    private static readonly Task<AuthenticateResult> NoCredentials = Task.FromResult(AuthenticateResult.NoResult());

    // A request with a key seen within its recheck bound is answered without awaiting: the secret is hashed once on
    // the stack (for the admin token and the key alike) and the key found in the lookup without a lock or a copy.
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return NoCredentials;
        }

        Span<byte> hash = stackalloc byte[ApiSecrets.HashLength];
        string? clientId = null;
        int secretLength;
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryHashBasic(header.AsSpan(6).Trim(), hash, out clientId, out secretLength))
            {
                return Task.FromResult(Fail("malformed_basic", "malformed Basic credentials"));
            }
        }
        else if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var secret = header.AsSpan(7).Trim();
            secretLength = secret.Length;
            ApiSecrets.Hash(secret, hash);
            if (adminToken.Matches(hash))
            {
                return Task.FromResult(Success(ApiPrincipal.ForInstallationAdmin()));
            }
        }
        else
        {
            return Task.FromResult(Fail("unsupported_scheme", "unsupported authorization scheme"));
        }

        if (secretLength is 0 or > MaxSecretLength)
        {
            return Task.FromResult(Fail("bad_secret", "empty or oversized secret"));
        }

        return keys.TryGetKnown(hash, out var known)
            ? Task.FromResult(ForKey(known, clientId))
            : ReadKeyAsync(hash.ToArray(), clientId);
    }

    private async Task<AuthenticateResult> ReadKeyAsync(byte[] hash, string? clientId) =>
        ForKey(await keys.FindAsync(hash, Context.RequestAborted), clientId);

    private AuthenticateResult ForKey(ApiKey? key, string? clientId) =>
        key is null || (clientId is not null && !string.Equals(clientId, key.ClientId, StringComparison.Ordinal))
            ? Fail("unknown_key", "unknown API key")
            : Success(ApiPrincipal.ForKey(key));

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

    /// <summary>
    /// Decodes <c>base64(client_id:client_secret)</c>, strict UTF-8, and hashes the secret's bytes as they are (the
    /// same SHA-256 as of the secret's string, without making one).
    /// </summary>
    private static bool TryHashBasic(ReadOnlySpan<char> encoded, Span<byte> hash, out string clientId, out int secretLength)
    {
        clientId = "";
        secretLength = 0;
        Span<byte> buffer = stackalloc byte[512];
        if (encoded.Length > 680 || !Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            return false;
        }

        var decoded = buffer[..written];
        var colon = decoded.IndexOf((byte)':');   // never inside a multi-byte sequence: those bytes are all >= 0x80
        if (colon <= 0 || !Utf8.IsValid(decoded))
        {
            return false;
        }

        var secret = decoded[(colon + 1)..];
        clientId = Encoding.UTF8.GetString(decoded[..colon]);
        secretLength = Encoding.UTF8.GetCharCount(secret);
        SHA256.HashData(secret, hash);
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

    /// <summary>Whether a presented token whose SHA-256 is <paramref name="presentedHash"/> is the admin token (constant time).</summary>
    public bool Matches(ReadOnlySpan<byte> presentedHash) => _hash is not null && CryptographicOperations.FixedTimeEquals(presentedHash, _hash);

    /// <summary>Whether <paramref name="presented"/> is this start's setup token (not a configured admin token).</summary>
    public bool IsSetupToken(string presented) => SetupToken is not null && Matches(presented);
}
