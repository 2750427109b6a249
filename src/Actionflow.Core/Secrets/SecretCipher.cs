using System.Security.Cryptography;
using System.Text;

namespace Actionflow.Core.Secrets;

/// <summary>A 256-bit AES key and the id stored with every value sealed under it.</summary>
public sealed class SecretKey
{
    public const int Length = 32;

    private SecretKey(string id, byte[] bytes)
    {
        Id = id;
        Bytes = bytes;
    }

    /// <summary>The first 8 hex digits of SHA-256 of the key: enough to tell keys apart, nothing about the key.</summary>
    public string Id { get; }

    internal byte[] Bytes { get; }

    /// <summary>A key from its base64 text; throws <see cref="FormatException"/> (never quoting it) when it is not 32 bytes of base64.</summary>
    public static SecretKey FromBase64(string text, string settingName)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new FormatException($"{settingName} must be a base64 256-bit key (e.g. from `openssl rand -base64 32`); it is not base64.");
        }

        return bytes.Length == Length
            ? new SecretKey(Convert.ToHexStringLower(SHA256.HashData(bytes))[..8], bytes)
            : throw new FormatException($"{settingName} must be a base64 256-bit key (32 bytes, e.g. from `openssl rand -base64 32`); it decodes to {bytes.Length} bytes.");
    }

    public static string NewBase64() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(Length));
}

/// <summary>
/// AES-256-GCM over secret values: <c>afsec:v1:{key id}:{base64(nonce ‖ ciphertext ‖ tag)}</c>. The key id lets a value
/// sealed under a previous key be opened while keys rotate; the associated data binds a value to where it is stored, so
/// a sealed value copied elsewhere does not open.
/// </summary>
public static class SecretCipher
{
    public const string Prefix = "afsec:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public static bool IsSealed(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The id of the key <paramref name="sealedValue"/> was sealed under, or null when it is not a sealed value.</summary>
    public static string? KeyIdOf(string sealedValue)
    {
        if (!IsSealed(sealedValue))
        {
            return null;
        }

        var end = sealedValue.IndexOf(':', Prefix.Length);
        return end < 0 ? null : sealedValue[Prefix.Length..end];
    }

    public static string Seal(SecretKey key, string plaintext, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(plaintext);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[NonceSize + data.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.Bytes, TagSize);
        aes.Encrypt(nonce, data, sealedBytes.AsSpan(NonceSize, data.Length), sealedBytes.AsSpan(NonceSize + data.Length), Encoding.UTF8.GetBytes(associatedData));
        CryptographicOperations.ZeroMemory(data);
        return $"{Prefix}{key.Id}:{Convert.ToBase64String(sealedBytes)}";
    }

    /// <summary>Opens a sealed value with the key of its id; throws <see cref="SecretUnavailableException"/> saying why it cannot.</summary>
    public static string Open(SecretKeyRing keys, string sealedValue, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var keyId = KeyIdOf(sealedValue) ?? throw new SecretUnavailableException("the stored value is not a sealed secret");
        var key = keys.Find(keyId)
            ?? throw new SecretUnavailableException(
                $"it was sealed under key {keyId}, which is not configured (Actionflow__SecretsKey, or Actionflow__SecretsPreviousKeys while rotating)");
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(sealedValue[(Prefix.Length + keyId.Length + 1)..]);
        }
        catch (FormatException)
        {
            throw new SecretUnavailableException("the stored value is damaged");
        }

        if (sealedBytes.Length < NonceSize + TagSize)
        {
            throw new SecretUnavailableException("the stored value is damaged");
        }

        var length = sealedBytes.Length - NonceSize - TagSize;
        var plain = new byte[length];
        try
        {
            using var aes = new AesGcm(key.Bytes, TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, length), sealedBytes.AsSpan(NonceSize + length), plain,
                Encoding.UTF8.GetBytes(associatedData));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SecretUnavailableException("the stored value does not open with its key (damaged, or moved from where it was sealed)");
        }

        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>The associated data of a project secret: it opens only as that project's secret of that name.</summary>
    public static string SecretScope(long projectId, string name) => $"secret:{projectId}:{name}";

    /// <summary>The associated data of a secret field of a step's config: bound to the project (a step's id is not known before it is saved).</summary>
    public static string ConfigScope(long projectId) => $"config:{projectId}";

}

/// <summary>A sealed value that cannot be opened here, or a key that is missing; the message never quotes a value.</summary>
public sealed class SecretUnavailableException(string message) : Exception(message);
