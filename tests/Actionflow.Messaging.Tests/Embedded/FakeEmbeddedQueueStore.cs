using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;

namespace Actionflow.Messaging.Tests.Embedded;

/// <summary>In-memory <see cref="IEmbeddedQueueStore"/> with the semantics the Storage one promises; records every call.</summary>
public sealed class FakeEmbeddedQueueStore : IEmbeddedQueueStore
{
    private readonly Lock _gate = new();
    private readonly List<OutboxMessage> _rows = [];
    private long _nextId;

    public ConcurrentQueue<long> Deleted { get; } = new();

    public ConcurrentQueue<(long Id, DateTime AvailableAt)> Rescheduled { get; } = new();

    public ConcurrentQueue<(OutboxMessage Message, string Reason, string? ExceptionType, DateTime Now)> DeadLetters { get; } = new();

    public int ReleaseAllCalls { get; private set; }

    /// <summary>Fails the next <c>LeaseAsync</c> calls with this exception while set.</summary>
    public Exception? LeaseFailure { get; set; }

    /// <summary><c>LeaseAsync</c> calls that failed with <see cref="LeaseFailure"/>.</summary>
    public int LeaseFailures => Volatile.Read(ref _leaseFailures);

    /// <summary><c>LeaseAsync</c> calls of one queue so far: each is the consumer looking for due messages.</summary>
    public int LeaseCalls(string queue)
    {
        lock (_gate)
        {
            return _leaseCalls.GetValueOrDefault(queue);
        }
    }

    private readonly Dictionary<string, int> _leaseCalls = [];
    private int _leaseFailures;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _rows.Count;
            }
        }
    }

    public OutboxMessage? Find(long id)
    {
        lock (_gate)
        {
            return _rows.FirstOrDefault(row => row.Id == id) is { } row ? Copy(row) : null;
        }
    }

    public IReadOnlyList<OutboxMessage> Rows()
    {
        lock (_gate)
        {
            return [.. _rows.Select(Copy)];
        }
    }

    public long Add(string queue, string body, DateTime? availableAt = null, int deliveries = 0, string? headers = null)
    {
        lock (_gate)
        {
            var row = new OutboxMessage
            {
                Id = ++_nextId,
                Queue = queue,
                Body = System.Text.Encoding.UTF8.GetBytes(body),
                Headers = headers,
                AvailableAt = availableAt,
                Deliveries = deliveries,
            };
            _rows.Add(row);
            return row.Id;
        }
    }

    /// <summary>Removes a row as another store's transaction would (not recorded in <see cref="Deleted"/>).</summary>
    public void RemoveRow(long id)
    {
        lock (_gate)
        {
            _rows.RemoveAll(row => row.Id == id);
        }
    }

    public Task EnqueueAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var row = Copy(message);
            row.Id = ++_nextId;
            _rows.Add(row);
            message.Id = row.Id;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<OutboxMessage>> LeaseAsync(string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (LeaseFailure is { } failure)
        {
            Interlocked.Increment(ref _leaseFailures);
            return Task.FromException<IReadOnlyList<OutboxMessage>>(failure);
        }

        lock (_gate)
        {
            _leaseCalls[queue] = _leaseCalls.GetValueOrDefault(queue) + 1;
            var leased = _rows
                .Where(row => row.Queue == queue && (row.AvailableAt is null || row.AvailableAt <= now))
                .OrderBy(row => row.Id)
                .Take(max)
                .ToList();
            foreach (var row in leased)
            {
                row.AvailableAt = hiddenUntil;
                row.Deliveries++;
            }

            return Task.FromResult<IReadOnlyList<OutboxMessage>>([.. leased.Select(Copy)]);
        }
    }

    public Task DeleteAsync(long id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _rows.RemoveAll(row => row.Id == id);
        }

        Deleted.Enqueue(id);
        return Task.CompletedTask;
    }

    public Task RescheduleAsync(long id, DateTime availableAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var row in _rows.Where(row => row.Id == id))
            {
                row.AvailableAt = availableAt;
            }
        }

        Rescheduled.Enqueue((id, availableAt));
        return Task.CompletedTask;
    }

    public Task DeadLetterAsync(OutboxMessage message, string reason, string? exceptionType, DateTime now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _rows.RemoveAll(row => row.Id == message.Id);
        }

        DeadLetters.Enqueue((Copy(message), reason, exceptionType, now));
        return Task.CompletedTask;
    }

    public Task<DateTime?> NextDueAsync(string queue, DateTime now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rows.Where(r => r.Queue == queue && r.AvailableAt > now).Min(r => r.AvailableAt));
        }
    }

    public Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ReleaseAllCalls++;
            foreach (var row in _rows)
            {
                row.AvailableAt = null;
            }
        }

        return Task.CompletedTask;
    }

    private static OutboxMessage Copy(OutboxMessage row) => new()
    {
        Id = row.Id,
        Queue = row.Queue,
        Body = row.Body,
        Headers = row.Headers,
        TimeCreated = row.TimeCreated,
        AvailableAt = row.AvailableAt,
        Deliveries = row.Deliveries,
    };
}
