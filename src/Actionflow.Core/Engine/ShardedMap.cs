using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Actionflow.Core.Engine;

/// <summary>
/// An immutable map in fixed shards of frozen dictionaries: a change copies the shard array and rebuilds only the
/// shards it touches, so replacing one workflow's entries among 100,000 costs a few hundred entries, not all of them,
/// while a reader holding the old map keeps a consistent view.
/// </summary>
internal sealed class ShardedMap<TKey, TValue>
    where TKey : notnull
{
    private const int ShardCount = 256;

    private readonly FrozenDictionary<TKey, TValue>[] _shards;

    private ShardedMap(FrozenDictionary<TKey, TValue>[] shards, int count)
    {
        _shards = shards;
        Count = count;
    }

    public static ShardedMap<TKey, TValue> Empty { get; } = new(Enumerable.Repeat(FrozenDictionary<TKey, TValue>.Empty, ShardCount).ToArray(), 0);

    public int Count { get; }

    public static ShardedMap<TKey, TValue> From(IEnumerable<KeyValuePair<TKey, TValue>> entries)
    {
        var buckets = new Dictionary<TKey, TValue>?[ShardCount];
        foreach (var (key, value) in entries)
        {
            (buckets[ShardOf(key)] ??= [])[key] = value;
        }

        var shards = new FrozenDictionary<TKey, TValue>[ShardCount];
        var count = 0;
        for (var i = 0; i < ShardCount; i++)
        {
            shards[i] = buckets[i] is { } bucket ? bucket.ToFrozenDictionary() : FrozenDictionary<TKey, TValue>.Empty;
            count += shards[i].Count;
        }

        return new ShardedMap<TKey, TValue>(shards, count);
    }

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value) => _shards[ShardOf(key)].TryGetValue(key, out value);

    public TValue? GetValueOrDefault(TKey key) => TryGetValue(key, out var value) ? value : default;

    /// <summary>A new map: <paramref name="removed"/> taken out first, then <paramref name="set"/> added or replaced.</summary>
    public ShardedMap<TKey, TValue> With(IEnumerable<TKey> removed, IEnumerable<KeyValuePair<TKey, TValue>> set)
    {
        var touched = new Dictionary<int, Dictionary<TKey, TValue>>();
        Dictionary<TKey, TValue> Shard(TKey key)
        {
            var i = ShardOf(key);
            if (!touched.TryGetValue(i, out var shard))
            {
                touched[i] = shard = new Dictionary<TKey, TValue>(_shards[i]);
            }

            return shard;
        }

        foreach (var key in removed)
        {
            Shard(key).Remove(key);
        }

        foreach (var (key, value) in set)
        {
            Shard(key)[key] = value;
        }

        if (touched.Count == 0)
        {
            return this;
        }

        var shards = (FrozenDictionary<TKey, TValue>[])_shards.Clone();
        var count = Count;
        foreach (var (i, shard) in touched)
        {
            count += shard.Count - shards[i].Count;
            shards[i] = shard.Count == 0 ? FrozenDictionary<TKey, TValue>.Empty : shard.ToFrozenDictionary();
        }

        return new ShardedMap<TKey, TValue>(shards, count);
    }

    // The index's keys are ids (sequential, so spread evenly) or (project id, event name): sharding by the id alone
    // keeps a match from hashing the event name twice. The type tests are constants to the JIT, and the casts of a
    // value type through object are not boxed.
    private static int ShardOf(TKey key)
    {
        if (typeof(TKey) == typeof(long))
        {
            return (int)((long)(object)key & (ShardCount - 1));
        }

        if (typeof(TKey) == typeof((long, string)))
        {
            return (int)(((ValueTuple<long, string>)(object)key).Item1 & (ShardCount - 1));
        }

        return EqualityComparer<TKey>.Default.GetHashCode(key) & (ShardCount - 1);
    }
}
