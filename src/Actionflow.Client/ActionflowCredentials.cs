using System.Net.Http.Headers;
using System.Text;

namespace Actionflow.Client;

/// <summary>
/// How the client signs its requests: an API key (client id and secret, sent as HTTP Basic) or a bare secret (the
/// installation admin token or setup token, or a key's secret, sent as Bearer).
/// </summary>
public sealed record ActionflowCredentials(string? ClientId, string Secret)
{
    /// <summary>The Authorization header for these credentials.</summary>
    public AuthenticationHeaderValue ToHeader() => string.IsNullOrEmpty(ClientId)
        ? new AuthenticationHeaderValue("Bearer", Secret)
        : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ClientId}:{Secret}")));

    /// <summary>Never the secret.</summary>
    public override string ToString() => string.IsNullOrEmpty(ClientId) ? "token" : ClientId;
}
