using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Auth;

/// <summary>API keys by the SHA-256 of their secret, one read per key for the requests in flight together (<see cref="CoalescedRead{TKey, TValue}"/>).</summary>
internal sealed class ApiKeyLookup
{
    private readonly CoalescedRead<string, ApiKey?> _reads;

    public ApiKeyLookup(IDbContextFactory<ActionflowDbContext> contexts) =>
        _reads = new CoalescedRead<string, ApiKey?>(async hex =>
        {
            var hash = Convert.FromHexString(hex);
            await using var db = await contexts.CreateDbContextAsync();
            return await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.SecretHash == hash);
        }, StringComparer.Ordinal);

    /// <summary>The key whose secret hashes to <paramref name="secretHash"/>, as committed when this call was made; null when none.</summary>
    public Task<ApiKey?> FindAsync(byte[] secretHash, CancellationToken cancellationToken) =>
        _reads.ReadAsync(Convert.ToHexString(secretHash), cancellationToken);
}

/// <summary>Projects by their string id, one read per id for the requests in flight together.</summary>
internal sealed class ProjectLookup
{
    private readonly CoalescedRead<string, Project?> _reads;

    public ProjectLookup(IDbContextFactory<ActionflowDbContext> contexts) =>
        _reads = new CoalescedRead<string, Project?>(async stringId =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.StringId == stringId);
        }, StringComparer.Ordinal);

    /// <summary>The project named <paramref name="stringId"/> (a copy of its own for the caller), or null.</summary>
    public async Task<Project?> FindAsync(string stringId, CancellationToken cancellationToken) =>
        await _reads.ReadAsync(stringId, cancellationToken) is { } shared
            ? new Project { Id = shared.Id, StringId = shared.StringId, Name = shared.Name, TimeCreated = shared.TimeCreated }
            : null;
}
