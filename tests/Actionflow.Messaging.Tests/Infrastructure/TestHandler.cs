using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;

namespace Actionflow.Messaging.Tests.Infrastructure;

/// <summary>A handler for one logical queue that records what it saw (bodies copied) and answers with <paramref name="handle"/>.</summary>
public sealed class TestHandler(string queue, Func<IncomingMessage, CancellationToken, Task<Verdict>> handle) : IMessageHandler
{
    private int _running;
    private int _maxRunning;

    public TestHandler(string queue, Func<IncomingMessage, Verdict> handle)
        : this(queue, (message, _) => Task.FromResult(handle(message)))
    {
    }

    public string Queue => queue;

    public ConcurrentQueue<IncomingMessage> Received { get; } = new();

    public int MaxConcurrent => Volatile.Read(ref _maxRunning);

    public static TestHandler Acking(string queue) => new(queue, _ => Verdict.Done);

    public async ValueTask<Verdict> HandleAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        // The body may be the transport's buffer, valid only until this returns (IncomingMessage's contract): the test
        // reads what it received later, so it keeps a copy, as any handler that keeps a body must.
        Received.Enqueue(message with { Body = message.Body.ToArray() });
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxRunning, running);
        try
        {
            return await handle(message, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public IReadOnlyList<string> Bodies() => [.. Received.Select(m => System.Text.Encoding.UTF8.GetString(m.Body.Span))];

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

public static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string because)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {because}");
            }

            await Task.Delay(20);
        }
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {because}");
            }

            await Task.Delay(50);
        }
    }
}
