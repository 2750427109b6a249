using System.Text;
using System.Text.Encodings.Web;
using Actionflow.Api.Auth;
using Actionflow.Core.Domain;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Tests;

/// <summary>
/// The handler hashes a presented secret once, on the stack, for the admin token and the key alike: the hash must
/// be the one stored when the key was made (<see cref="ApiSecrets.Hash(string)"/>), whichever scheme carried it.
/// </summary>
public sealed class ApiKeyAuthenticationTests
{
    private const string Secret = "afsk_ключ-не-ascii_✓";   // not one of ours (those are base64url), but any UTF-8 must work
    private const string AdminSecret = "the-admin-token";

    [Fact]
    public async Task Bearer_KnownSecret_AuthenticatesAsItsKey()
    {
        var reads = new List<byte[]>();
        var result = await AuthenticateAsync("Bearer " + Secret, reads);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal("7", result.Principal!.FindFirst(ApiPrincipal.ProjectIdClaim)!.Value);
        Assert.Equal(ApiSecrets.Hash(Secret), Assert.Single(reads));
    }

    [Fact]
    public async Task Basic_ClientIdAndSecret_AuthenticatesAsItsKey_WrongClientIdRefused()
    {
        var reads = new List<byte[]>();
        Assert.True((await AuthenticateAsync(Basic("af_one:" + Secret), reads)).Succeeded);
        Assert.Equal(ApiSecrets.Hash(Secret), Assert.Single(reads));

        var wrong = await AuthenticateAsync(Basic("af_two:" + Secret), []);
        Assert.Equal("unknown API key", wrong.Failure?.Message);
    }

    [Fact]
    public async Task Basic_NotUtf8_Malformed()
    {
        var bytes = Encoding.UTF8.GetBytes("af_one:x").Concat(new byte[] { 0xC3, 0x28 }).ToArray();   // a broken two-byte sequence

        var result = await AuthenticateAsync("Basic " + Convert.ToBase64String(bytes), []);

        Assert.Equal("malformed Basic credentials", result.Failure?.Message);
    }

    [Fact]
    public async Task Bearer_AdminToken_IsInstallationAdmin_WithoutKeyRead()
    {
        var reads = new List<byte[]>();

        var result = await AuthenticateAsync("Bearer " + AdminSecret, reads);

        Assert.True(result.Succeeded);
        Assert.True(result.Principal!.IsInstallationAdmin());
        Assert.Empty(reads);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(400)]   // past the stack buffer: 1,200 bytes of UTF-8
    public void Hash_OfChars_IsTheHashOfTheString(int repeat)
    {
        var secret = string.Concat(Enumerable.Repeat("é✓", repeat));
        var hash = new byte[ApiSecrets.HashLength];

        ApiSecrets.Hash(secret.AsSpan(), hash);

        Assert.Equal(ApiSecrets.Hash(secret), hash);
    }

    private static string Basic(string pair) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(pair));

    private static async Task<AuthenticateResult> AuthenticateAsync(string authorization, List<byte[]> reads)
    {
        var stored = new ApiKey { Id = 1, ProjectId = 7, ClientId = "af_one", SecretHash = ApiSecrets.Hash(Secret), Role = ApiKeyRole.Editor };
        var keys = new ApiKeyLookup(
            hash =>
            {
                reads.Add(hash);
                return Task.FromResult(hash.AsSpan().SequenceEqual(stored.SecretHash) ? stored : null);
            },
            TimeProvider.System,
            Options.Create(new ApiOptions()));
        await using var services = new ServiceCollection().AddProblemDetails().AddLogging().BuildServiceProvider();
        var handler = new ApiKeyAuthenticationHandler(
            new AuthenticationFailureTests.StaticOptions(), NullLoggerFactory.Instance, UrlEncoder.Default, keys,
            new AdminToken(Options.Create(new ApiOptions { AdminToken = AdminSecret })), services.GetRequiredService<IProblemDetailsService>());
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Headers.Authorization = authorization;
        await handler.InitializeAsync(new AuthenticationScheme(ApiPrincipal.Scheme, null, typeof(ApiKeyAuthenticationHandler)), http);
        return await handler.AuthenticateAsync();
    }
}
