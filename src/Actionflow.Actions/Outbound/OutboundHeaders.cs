namespace Actionflow.Actions.Outbound;

/// <summary>Which request headers an action's config may set, and with which values: the same rule at save and at run.</summary>
public static class OutboundHeaders
{
    public const int MaxValueLength = 8192;

    // The request's own framing and routing, which the HTTP client writes: a config setting them would smuggle a
    // second request, break the body or never be sent at all.
    private static readonly HashSet<string> ClientOwned = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE",
        "Trailer", "Expect",
    };

    /// <summary>
    /// Why a header cannot be sent, or null; the message follows the header's name and never quotes the value.
    /// <paramref name="actionPrefix"/> names headers the action sets itself (e.g. <c>webhook-</c>).
    /// </summary>
    public static string? Problem(string name, string? value, string? actionPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (actionPrefix is not null && name.StartsWith(actionPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return $"cannot be set: the action sets the {actionPrefix}* headers itself";
        }

        if (ClientOwned.Contains(name) || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase))
        {
            return "cannot be set: Host, Content-Type, Content-Length and the hop-by-hop and framing headers (Connection, Keep-Alive, "
                + "Transfer-Encoding, TE, Trailer, Upgrade, Expect, Content-Encoding, Proxy-*) are the HTTP client's";
        }

        if (!IsToken(name))
        {
            return "is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)";
        }

        if (value is null)
        {
            return "must have a value";
        }

        if (value.Length > MaxValueLength)
        {
            return $"must be at most {MaxValueLength} characters";
        }

        // Visible ASCII and spaces: no line breaks (header injection), no control characters, nothing beyond ASCII,
        // which the HTTP client refuses to send.
        return value.AsSpan().ContainsAnyExceptInRange(' ', '~')
            ? "must be printable ASCII: no line breaks, tabs or other control characters, no characters beyond ASCII"
            : null;
    }

    // RFC 9110 token: visible ASCII except separators.
    private static bool IsToken(string name) =>
        name.Length > 0 && name.All(c => c is > ' ' and < '\u007F' && !"\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal));
}
