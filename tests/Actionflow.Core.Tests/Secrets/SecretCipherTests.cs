using System.Text.Json.Nodes;
using Actionflow.Core.Secrets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Actionflow.Core.Tests.Secrets;

public sealed class SecretCipherTests
{
    private static SecretKeyRing Ring(string key, string? previous = null, string? keyFile = null) =>
        new(new SecretKeySettings { Key = key, PreviousKeys = previous, KeyFile = keyFile }, NullLogger<SecretKeyRing>.Instance);

    private sealed class Source(Dictionary<string, string> values) : ISecretSource
    {
        public Task<IReadOnlyDictionary<string, string>> OpenAsync(long projectId, IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, string>>(values.Where(v => names.Contains(v.Key)).ToDictionary());
    }

    [Fact]
    public void Seal_ThenOpen_RoundTripsAndNeverContainsThePlaintext()
    {
        var ring = Ring(SecretKey.NewBase64());
        var sealedValue = SecretCipher.Seal(ring.Current, "hunter2-plain", SecretCipher.SecretScope(1, "A"));
        Assert.StartsWith($"{SecretCipher.Prefix}{ring.Current.Id}:", sealedValue, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", sealedValue, StringComparison.Ordinal);
        Assert.NotEqual(sealedValue, SecretCipher.Seal(ring.Current, "hunter2-plain", SecretCipher.SecretScope(1, "A")));
        Assert.Equal("hunter2-plain", SecretCipher.Open(ring, sealedValue, SecretCipher.SecretScope(1, "A")));
    }

    [Fact]
    public void Open_OtherScopeOrTamperedOrUnknownKey_FailsWithoutQuotingTheValue()
    {
        var ring = Ring(SecretKey.NewBase64());
        var sealedValue = SecretCipher.Seal(ring.Current, "value-xyz", SecretCipher.SecretScope(1, "A"));
        Assert.Throws<SecretUnavailableException>(() => SecretCipher.Open(ring, sealedValue, SecretCipher.SecretScope(2, "A")));
        var tampered = sealedValue[..^4] + (sealedValue[^4] == 'A' ? "B" : "A") + sealedValue[^3..];
        Assert.Throws<SecretUnavailableException>(() => SecretCipher.Open(ring, tampered, SecretCipher.SecretScope(1, "A")));
        var other = Ring(SecretKey.NewBase64());
        var ex = Assert.Throws<SecretUnavailableException>(() => SecretCipher.Open(other, sealedValue, SecretCipher.SecretScope(1, "A")));
        Assert.Contains(ring.Current.Id, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ValueUnderPreviousKey_OpensWhileRotating()
    {
        var oldKey = SecretKey.NewBase64();
        var sealedValue = SecretCipher.Seal(Ring(oldKey).Current, "rotate-me", "s");
        var rotating = Ring(SecretKey.NewBase64(), previous: oldKey);
        Assert.Equal("rotate-me", SecretCipher.Open(rotating, sealedValue, "s"));
        Assert.NotEqual(rotating.Current.Id, SecretCipher.KeyIdOf(sealedValue));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void SecretKeyRing_BadKey_FailsNamingTheSetting(string key)
    {
        var ex = Assert.Throws<FormatException>(() => Ring(key));
        Assert.Contains("Actionflow__SecretsKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretKeyRing_NoKeyNoKeyFile_CannotSeal_ClearError()
    {
        var ring = new SecretKeyRing(new SecretKeySettings(), NullLogger<SecretKeyRing>.Instance);
        Assert.False(ring.CanSeal);
        var ex = Assert.Throws<SecretUnavailableException>(() => ring.Current);
        Assert.Contains("Actionflow__SecretsKey is not set", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretKeyRing_KeyFile_GeneratedOnceOwnerOnlyAndReused()
    {
        var dir = Path.Combine(Path.GetTempPath(), "af-keyfile-" + Guid.NewGuid().ToString("N")[..8]);
        var path = Path.Combine(dir, SecretKeySettings.KeyFileName);
        try
        {
            var first = new SecretKeyRing(new SecretKeySettings { KeyFile = path }, NullLogger<SecretKeyRing>.Instance);
            Assert.False(File.Exists(path));
            var id = first.Current.Id;
            Assert.True(File.Exists(path));
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            var second = new SecretKeyRing(new SecretKeySettings { KeyFile = path }, NullLogger<SecretKeyRing>.Instance);
            Assert.Equal(id, second.Current.Id);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ResolveAsync_SealedFieldsAndReferences_OpenedAndReplacedAndCollected()
    {
        var ring = Ring(SecretKey.NewBase64());
        var config = new JsonObject
        {
            ["url"] = "https://x.example/{{ secrets.PATH_PART }}",
            ["headers"] = new JsonObject { ["Authorization"] = SecretCipher.Seal(ring.Current, "Bearer {{secrets.TOKEN}}", SecretCipher.ConfigScope(5)) },
            ["list"] = new JsonArray("a", "{{ secrets.TOKEN }}"),
            ["n"] = 3,
        };
        var revealed = new List<string>();
        var resolved = await ConfigSecrets.ResolveAsync(5, config, ring, new Source(new() { ["TOKEN"] = "t0k3n", ["PATH_PART"] = "p4th", ["OTHER"] = "o" }), revealed,
            CancellationToken.None);
        Assert.Equal("https://x.example/p4th", (string?)resolved["url"]);
        Assert.Equal("Bearer t0k3n", (string?)resolved["headers"]!["Authorization"]);
        Assert.Equal("t0k3n", (string?)resolved["list"]![1]);
        Assert.Equal(3, (int)resolved["n"]!);
        Assert.Contains("t0k3n", revealed);
        Assert.DoesNotContain("o", revealed);
        Assert.StartsWith(SecretCipher.Prefix, (string?)config["headers"]!["Authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_UnknownSecret_FailsNamingIt()
    {
        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => ConfigSecrets.ResolveAsync(
            1, new JsonObject { ["a"] = "{{ secrets.MISSING }} {{ secrets.HERE }}" }, Ring(SecretKey.NewBase64()), new Source(new() { ["HERE"] = "v" }), [],
            CancellationToken.None));
        Assert.Contains("secrets.MISSING", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secrets.HERE", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_OutputAndReason_EveryRevealedValueMasked_ShortValuesLeft()
    {
        var output = new JsonObject { ["echo"] = "Authorization: Bearer abcd1234", ["nested"] = new JsonArray(new JsonObject { ["v"] = "abcd1234abcd1234" }), ["n"] = 1 };
        var redacted = SecretRedactor.Redact(output, ["abcd1234", "ab"])!;
        Assert.Equal("Authorization: Bearer ********", (string?)redacted["echo"]);
        Assert.Equal("****************", (string?)redacted["nested"]![0]!["v"]);
        Assert.Equal("Authorization: Bearer abcd1234", (string?)output["echo"]);
        Assert.Equal("failed with ******** at x", SecretRedactor.Redact("failed with abcd1234 at x", ["abcd1234"]));
    }
}
