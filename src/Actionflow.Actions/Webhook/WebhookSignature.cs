using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Actionflow.Actions.Webhook;

/// <summary>
/// Standard Webhooks signatures (https://www.standardwebhooks.com): <c>webhook-signature</c> is
/// <c>v1,</c> + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")).
/// Receivers can use <see cref="Verify(string, string, string, string, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>.
/// </summary>
public static class WebhookSignature
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>Secrets with this prefix carry a base64 key after it; others are used as UTF-8 bytes.</summary>
    public const string SecretPrefix = "whsec_";

    private const string VersionPrefix = "v1,";

    /// <summary>How far a timestamp may be from now before a receiver should reject it (the standard's default).</summary>
    public static TimeSpan DefaultTolerance { get; } = TimeSpan.FromMinutes(5);

    /// <summary>The HMAC key of a secret. Throws <see cref="FormatException"/> when a <c>whsec_</c> secret is not base64.</summary>
    public static byte[] DecodeKey(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return Encoding.UTF8.GetBytes(secret);
        }

        try
        {
            var key = Convert.FromBase64String(secret[SecretPrefix.Length..]);
            return key.Length > 0 ? key : throw new FormatException("The key after the whsec_ prefix is empty.");
        }
        catch (FormatException)
        {
            // The message of the original exception could quote the secret; this one cannot.
            throw new FormatException("A secret starting with whsec_ must continue with a base64 key.");
        }
    }

    /// <summary>The <c>webhook-signature</c> header value for this message.</summary>
    public static string Sign(string secret, string webhookId, long timestamp, ReadOnlySpan<byte> body) =>
        Sign(DecodeKey(secret), webhookId, timestamp, body);

    /// <summary>The <c>webhook-signature</c> header value for this message, the body given as text.</summary>
    public static string Sign(string secret, string webhookId, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Sign(secret, webhookId, timestamp, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>The <c>webhook-signature</c> header value for this message, with a decoded key.</summary>
    public static string Sign(ReadOnlySpan<byte> key, string webhookId, long timestamp, ReadOnlySpan<byte> body) =>
        VersionPrefix + Convert.ToBase64String(ComputeHash(key, webhookId, timestamp, body));

    /// <summary>
    /// True when one of the space-separated <c>v1,</c> signatures in <paramref name="webhookSignature"/> matches.
    /// Checks the signature only; see the overload with <c>now</c> to also reject stale or future timestamps.
    /// </summary>
    public static bool Verify(string secret, string webhookId, string webhookTimestamp, string webhookSignature, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(webhookId);
        if (string.IsNullOrEmpty(webhookSignature)
            || !long.TryParse(webhookTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return false;
        }

        var expected = ComputeHash(DecodeKey(secret), webhookId, timestamp, body);
        Span<byte> candidate = stackalloc byte[64];
        foreach (var part in webhookSignature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith(VersionPrefix, StringComparison.Ordinal)
                && Convert.TryFromBase64String(part[VersionPrefix.Length..], candidate, out var written)
                && CryptographicOperations.FixedTimeEquals(candidate[..written], expected))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Like the signature-only overload, and also false when the timestamp is further than <paramref name="tolerance"/> from <paramref name="now"/>.</summary>
    public static bool Verify(
        string secret, string webhookId, string webhookTimestamp, string webhookSignature, ReadOnlySpan<byte> body,
        DateTimeOffset now, TimeSpan tolerance)
    {
        if (!long.TryParse(webhookTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            || Math.Abs(now.ToUnixTimeSeconds() - timestamp) > tolerance.TotalSeconds)
        {
            return false;
        }

        return Verify(secret, webhookId, webhookTimestamp, webhookSignature, body);
    }

    private static byte[] ComputeHash(ReadOnlySpan<byte> key, string webhookId, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(webhookId);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{webhookId}.{timestamp}.")));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
