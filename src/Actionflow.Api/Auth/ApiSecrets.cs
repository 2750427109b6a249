using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Actionflow.Api.Auth;

/// <summary>API key material: ids and secrets from the OS CSPRNG, secrets stored as SHA-256 only.</summary>
public static class ApiSecrets
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewClientId() => "af_" + RandomNumberGenerator.GetString(Alphabet, 24);

    /// <summary>32 random bytes (256 bits): guessing is hopeless, so one SHA-256 (no slow KDF) protects the stored copy.</summary>
    public static string NewSecret() => "afsk_" + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>The one-time setup token logged at a start without an admin token.</summary>
    public static string NewSetupToken() => "afsetup_" + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(24));

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Constant-time comparison of a presented token with the configured one (hashes first: equal lengths).</summary>
    public static bool FixedTimeEquals(string presented, byte[] expectedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(presented), expectedHash);
}
