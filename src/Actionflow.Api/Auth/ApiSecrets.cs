using System.Buffers;
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

    /// <summary>Bytes in a secret's hash (SHA-256).</summary>
    public const int HashLength = SHA256.HashSizeInBytes;

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>The SHA-256 of <paramref name="secret"/>'s UTF-8 into <paramref name="destination"/>, without a heap copy for a usual length.</summary>
    public static void Hash(ReadOnlySpan<char> secret, Span<byte> destination)
    {
        var length = Encoding.UTF8.GetByteCount(secret);
        byte[]? rented = null;
        var utf8 = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            Encoding.UTF8.GetBytes(secret, utf8);
            SHA256.HashData(utf8, destination);
        }
        finally
        {
            if (rented is not null)
            {
                CryptographicOperations.ZeroMemory(utf8);
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Constant-time comparison of a presented token with the configured one (hashes first: equal lengths).</summary>
    public static bool FixedTimeEquals(string presented, byte[] expectedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(presented), expectedHash);
}
