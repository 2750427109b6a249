using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Auth;

/// <summary>
/// API keys by the SHA-256 of their secret. A key found is kept for <see cref="ApiOptions.ApiKeyRecheck"/> from the
/// moment its read began, so requests with a known key need no round trip; misses are never kept (a key created a
/// moment ago works at once). A revocation through this process (<see cref="Forget"/>) ends the key here at once; one
/// through another process (or straight in the database) ends it here within <see cref="ApiOptions.ApiKeyRecheck"/>.
/// The reads themselves are shared by the requests in flight together (<see cref="CoalescedRead{TKey, TValue}"/>).
/// </summary>
internal sealed class ApiKeyLookup
{
    private readonly CoalescedRead<string, Read> _reads;
    private readonly TimeProvider _time;
    private readonly long _recheckTicks;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Read> _known = new(StringComparer.Ordinal);
    private long _generation;

    public ApiKeyLookup(IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, IOptions<ApiOptions> options)
        : this(async hash =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.SecretHash == hash);
        }, time, options)
    {
    }

    internal ApiKeyLookup(Func<byte[], Task<ApiKey?>> read, TimeProvider time, IOptions<ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _recheckTicks = options.Value.ApiKeyRecheck.Ticks;
        _reads = new CoalescedRead<string, Read>(async hex =>
        {
            // Taken before the read, so the key is rechecked no later than the bound after the state it saw.
            var started = _time.GetUtcNow().UtcTicks;
            var generation = Volatile.Read(ref _generation);
            return new Read(await read(Convert.FromHexString(hex)), started, generation);
        }, StringComparer.Ordinal);
    }

    /// <summary>Keys kept at most; past it the oldest reads are simply dropped (all of them: a rare, cheap reset).</summary>
    internal const int MaxKept = 10_000;

    /// <summary>The key whose secret hashes to <paramref name="secretHash"/>; null when none.</summary>
    public async Task<ApiKey?> FindAsync(byte[] secretHash, CancellationToken cancellationToken)
    {
        var hex = Convert.ToHexString(secretHash);
        var now = _time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            if (_known.TryGetValue(hex, out var kept) && now - kept.Started < _recheckTicks)
            {
                return kept.Key;
            }
        }

        var read = await _reads.ReadAsync(hex, cancellationToken);
        if (read.Key is not null && _recheckTicks > 0)
        {
            lock (_lock)
            {
                // A revocation since the read began (Forget moved the generation) must not be undone by keeping what it saw.
                if (read.Generation == _generation && (!_known.TryGetValue(hex, out var kept) || kept.Started < read.Started))
                {
                    if (_known.Count >= MaxKept)
                    {
                        _known.Clear();
                    }

                    _known[hex] = read;
                }
            }
        }

        return read.Key;
    }

    /// <summary>Called once a key's deletion has committed: this process stops accepting it now.</summary>
    public void Forget(long projectId, string clientId)
    {
        lock (_lock)
        {
            _generation++;
            foreach (var (hex, read) in _known.Where(p => p.Value.Key is { } k && k.ProjectId == projectId && k.ClientId == clientId).ToList())
            {
                _known.Remove(hex);
            }
        }
    }

    private sealed record Read(ApiKey? Key, long Started, long Generation);
}

/// <summary>
/// Projects by their string id. A project found is kept for the life of the process: a project is never deleted, and
/// neither its id nor its string id ever changes (if deleting or renaming projects is ever added, it must clear this).
/// Misses are never kept, so a project created by another process is found at once. The reads are shared by the
/// requests in flight together.
/// </summary>
internal sealed class ProjectLookup
{
    private readonly CoalescedRead<string, Project?> _reads;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Project> _known = new(StringComparer.Ordinal);

    public ProjectLookup(IDbContextFactory<ActionflowDbContext> contexts) =>
        _reads = new CoalescedRead<string, Project?>(async stringId =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.StringId == stringId);
        }, StringComparer.Ordinal);

    /// <summary>Projects kept at most; past it the map starts again empty.</summary>
    internal const int MaxKept = 100_000;

    /// <summary>The project named <paramref name="stringId"/> (a copy of its own for the caller), or null.</summary>
    public async Task<Project?> FindAsync(string stringId, CancellationToken cancellationToken)
    {
        if (!_known.TryGetValue(stringId, out var shared))
        {
            shared = await _reads.ReadAsync(stringId, cancellationToken);
            if (shared is null)
            {
                return null;
            }

            if (_known.Count >= MaxKept)
            {
                _known.Clear();
            }

            _known[stringId] = shared;
        }

        return new Project { Id = shared.Id, StringId = shared.StringId, Name = shared.Name, TimeCreated = shared.TimeCreated };
    }
}
