using System.Buffers.Binary;
using System.Collections.Concurrent;
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
    private readonly CoalescedRead<SecretHash, Read> _reads;
    private readonly TimeProvider _time;
    private readonly long _recheckTicks;
    private readonly Lock _lock = new();

    // Read without a lock by every authenticated request; written (under _lock) only when a key is read or forgotten.
    private readonly ConcurrentDictionary<SecretHash, Read> _known = new();
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
        _reads = new CoalescedRead<SecretHash, Read>(async hash =>
        {
            // Taken before the read, so the key is rechecked no later than the bound after the state it saw.
            var started = _time.GetUtcNow().UtcTicks;
            var generation = Volatile.Read(ref _generation);
            return new Read(await read(hash.ToArray()), started, generation);
        });
    }

    /// <summary>Keys kept at most; past it the oldest reads are simply dropped (all of them: a rare, cheap reset).</summary>
    internal const int MaxKept = 10_000;

    /// <summary>
    /// The key whose secret hashes to <paramref name="secretHash"/> when it was read less than the recheck bound ago;
    /// false when it must be read (unknown, a miss, or due for its recheck). Takes no lock and allocates nothing.
    /// </summary>
    public bool TryGetKnown(ReadOnlySpan<byte> secretHash, out ApiKey? key)
    {
        if (_known.TryGetValue(SecretHash.From(secretHash), out var kept) && _time.GetUtcNow().UtcTicks - kept.Started < _recheckTicks)
        {
            key = kept.Key;
            return true;
        }

        key = null;
        return false;
    }

    /// <summary>The key whose secret hashes to <paramref name="secretHash"/>; null when none.</summary>
    public async Task<ApiKey?> FindAsync(byte[] secretHash, CancellationToken cancellationToken)
    {
        if (TryGetKnown(secretHash, out var known))
        {
            return known;
        }

        var hash = SecretHash.From(secretHash);
        var read = await _reads.ReadAsync(hash, cancellationToken);
        if (read.Key is not null && _recheckTicks > 0)
        {
            lock (_lock)
            {
                // A revocation since the read began (Forget moved the generation) must not be undone by keeping what it saw.
                if (read.Generation == _generation && (!_known.TryGetValue(hash, out var kept) || kept.Started < read.Started))
                {
                    if (!_known.ContainsKey(hash) && _known.Count >= MaxKept)
                    {
                        _known.Clear();
                    }

                    _known[hash] = read;
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
            foreach (var (hash, _) in _known.Where(p => p.Value.Key is { } k && k.ProjectId == projectId && k.ClientId == clientId).ToList())
            {
                _known.TryRemove(hash, out _);
            }
        }
    }

    private sealed record Read(ApiKey? Key, long Started, long Generation);

    /// <summary>A SHA-256 as four words: a dictionary key compared and hashed without a hex string per request.</summary>
    private readonly record struct SecretHash(ulong A, ulong B, ulong C, ulong D)
    {
        public static SecretHash From(ReadOnlySpan<byte> sha256)
        {
            if (sha256.Length != 32)
            {
                throw new ArgumentException("A secret's hash is 32 bytes (SHA-256).", nameof(sha256));
            }

            return new(
                BinaryPrimitives.ReadUInt64LittleEndian(sha256),
                BinaryPrimitives.ReadUInt64LittleEndian(sha256[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(sha256[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(sha256[24..]));
        }

        public byte[] ToArray()
        {
            var bytes = new byte[32];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, A);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), B);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), C);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), D);
            return bytes;
        }
    }
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
