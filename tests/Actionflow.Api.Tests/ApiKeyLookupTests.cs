using Actionflow.Api.Auth;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Api.Tests;

public sealed class ApiKeyLookupTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly byte[] Hash = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    private sealed class Store
    {
        private int _reads;

        public ApiKey? Key { get; set; } = new() { Id = 1, ProjectId = 7, ClientId = "af_one", SecretHash = Hash, Role = ApiKeyRole.Editor };

        /// <summary>When set, the next read waits for it (and signals <see cref="ReadStarted"/>).</summary>
        public TaskCompletionSource? Gate { get; set; }

        public TaskCompletionSource ReadStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Reads => Volatile.Read(ref _reads);

        public async Task<ApiKey?> ReadAsync(byte[] hash)
        {
            Interlocked.Increment(ref _reads);
            var seen = Key;
            if (Gate is { } gate)
            {
                Gate = null;
                ReadStarted.TrySetResult();
                await gate.Task;
            }

            return seen;
        }
    }

    private static ApiKeyLookup Lookup(Store store, TimeProvider time, TimeSpan recheck) =>
        new(store.ReadAsync, time, Options.Create(new ApiOptions { ApiKeyRecheck = recheck }));

    [Fact]
    public async Task FindAsync_KnownKey_ReadOncePerRecheckBound()
    {
        var store = new Store();
        var time = new FakeTimeProvider();
        var keys = Lookup(store, time, TimeSpan.FromSeconds(1));

        Assert.NotNull(await keys.FindAsync(Hash, CancellationToken.None));
        Assert.NotNull(await keys.FindAsync(Hash, CancellationToken.None));
        Assert.Equal(1, store.Reads);

        store.Key = null;   // revoked by another process
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.NotNull(await keys.FindAsync(Hash, CancellationToken.None));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(await keys.FindAsync(Hash, CancellationToken.None));
        Assert.Equal(2, store.Reads);
    }

    [Fact]
    public async Task FindAsync_UnknownKey_NotKeptSoACreatedKeyWorksAtOnce()
    {
        var store = new Store { Key = null };
        var keys = Lookup(store, new FakeTimeProvider(), TimeSpan.FromSeconds(1));

        Assert.Null(await keys.FindAsync(Hash, CancellationToken.None));
        store.Key = new ApiKey { Id = 2, ProjectId = 7, ClientId = "af_new", SecretHash = Hash };
        Assert.NotNull(await keys.FindAsync(Hash, CancellationToken.None));
    }

    [Fact]
    public async Task Forget_AfterTheKeyWasKept_NextRequestReadsAgain()
    {
        var store = new Store();
        var keys = Lookup(store, new FakeTimeProvider(), TimeSpan.FromMinutes(1));
        Assert.NotNull(await keys.FindAsync(Hash, CancellationToken.None));

        store.Key = null;
        keys.Forget(7, "af_one");

        Assert.Null(await keys.FindAsync(Hash, CancellationToken.None));
        Assert.Equal(2, store.Reads);
    }

    [Fact]
    public async Task Forget_WhileAReadBegunBeforeItIsUnderWay_WhatThatReadSawIsNotKept()
    {
        var store = new Store { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var gate = store.Gate;
        var keys = Lookup(store, new FakeTimeProvider(), TimeSpan.FromMinutes(1));

        // A request reads the key; the revocation commits and is forgotten while that read is still under way.
        var before = keys.FindAsync(Hash, CancellationToken.None);
        await store.ReadStarted.Task.WaitAsync(Patience);
        store.Key = null;
        keys.Forget(7, "af_one");
        gate.SetResult();
        Assert.NotNull(await before.WaitAsync(Patience));   // it arrived before the revocation

        Assert.Null(await keys.FindAsync(Hash, CancellationToken.None));
        Assert.Equal(2, store.Reads);
    }

    [Fact]
    public async Task FindAsync_RecheckZero_ReadsEveryTime()
    {
        var store = new Store();
        var keys = Lookup(store, new FakeTimeProvider(), TimeSpan.Zero);

        await keys.FindAsync(Hash, CancellationToken.None);
        await keys.FindAsync(Hash, CancellationToken.None);

        Assert.Equal(2, store.Reads);
    }
}
