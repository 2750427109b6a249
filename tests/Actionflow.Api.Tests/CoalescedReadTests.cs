namespace Actionflow.Api.Tests;

public sealed class CoalescedReadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ReadAsync_CallersArriveDuringARead_ShareTheNextReadNotTheOneUnderWay()
    {
        var reads = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coalesced = new CoalescedRead<string, int>(async _ =>
        {
            var n = Interlocked.Increment(ref reads);
            if (n == 1)
            {
                firstStarted.SetResult();
                await releaseFirst.Task;
            }

            return n;
        });

        var first = coalesced.ReadAsync("k", CancellationToken.None);
        await firstStarted.Task.WaitAsync(Patience);
        var later = Enumerable.Range(0, 5).Select(_ => coalesced.ReadAsync("k", CancellationToken.None)).ToArray();
        releaseFirst.SetResult();

        Assert.Equal(1, await first.WaitAsync(Patience));
        Assert.All(await Task.WhenAll(later).WaitAsync(Patience), value => Assert.Equal(2, value));
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task ReadAsync_DifferentKeys_EachReadForItsOwnKey()
    {
        var coalesced = new CoalescedRead<string, string>(key => Task.FromResult(key.ToUpperInvariant()));

        var answers = await Task.WhenAll(new[] { "a", "b", "a", "c" }.Select(k => coalesced.ReadAsync(k, CancellationToken.None))).WaitAsync(Patience);

        Assert.Equal(["A", "B", "A", "C"], answers);
    }

    [Fact]
    public async Task ReadAsync_ReadFails_EveryWaiterGetsTheErrorAndTheNextCallReadsAgain()
    {
        var fail = true;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coalesced = new CoalescedRead<int, int>(async key =>
        {
            await gate.Task;
            return fail ? throw new InvalidOperationException("database down") : key;
        });

        var waiting = Enumerable.Range(0, 4).Select(_ => coalesced.ReadAsync(7, CancellationToken.None)).ToArray();
        gate.SetResult();
        foreach (var task in waiting)
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => task.WaitAsync(Patience));
            Assert.Equal("database down", ex.Message);
        }

        fail = false;
        Assert.Equal(7, await coalesced.ReadAsync(7, CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task ReadAsync_CallerGivesUp_StopsWaitingWhileTheReadGoesOnForOthers()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coalesced = new CoalescedRead<int, int>(async key =>
        {
            await release.Task;
            return key;
        });
        using var giveUp = new CancellationTokenSource();

        var impatient = coalesced.ReadAsync(1, giveUp.Token);
        var patient = coalesced.ReadAsync(1, CancellationToken.None);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient.WaitAsync(Patience));
        release.SetResult();
        Assert.Equal(1, await patient.WaitAsync(Patience));
    }
}
