using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Actionflow.Bench;

/// <summary>
/// The broker's own ceiling on this machine, now: a two-hop pipeline with no Actionflow code. Publish to
/// <c>bench.hop1</c> (confirms per batch), a consumer republishes each message to <c>bench.hop2</c> and acks once
/// the broker confirmed it, a second consumer acks. Quorum queues, persistent messages, manual acks: the same guarantees
/// as Actionflow's pipeline, without its database. Handlers, prefetch and the first hop's confirm batch are
/// <see cref="BaselineSettings"/>, chosen by a sweep (<c>--scenario baseline-sweep</c>).
/// </summary>
internal static class Baseline
{
    private const string Exchange = "bench";
    private const string Hop1 = "bench.hop1";
    private const string Hop2 = "bench.hop2";

    /// <param name="perSecond">
    /// Null: the measured batch flat out, confirms awaited per batch. Otherwise each message is published on its due time
    /// at this rate, as <c>paced</c> publishes events, and the broker's and this process's CPU per message is reported.
    /// </param>
    public static async Task<Measurement> RunAsync(string amqpUri, WarmupPlan warmup, EventBatch batch, BaselineSettings settings, double? perSecond = null)
    {
        var (dispatchConcurrency, prefetch, publishBatch) = settings;
        var factory = new ConnectionFactory { Uri = new Uri(amqpUri), AutomaticRecoveryEnabled = false, ConsumerDispatchConcurrency = dispatchConcurrency };
        await using var consumerConnection = await factory.CreateConnectionAsync("actionflow-bench baseline consumers");
        await using var publisherConnection = await factory.CreateConnectionAsync("actionflow-bench baseline publisher");

        await using (var setup = await consumerConnection.CreateChannelAsync())
        {
            await setup.ExchangeDeclareAsync(Exchange, ExchangeType.Direct, durable: true);
            var quorum = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
            foreach (var queue in new[] { Hop1, Hop2 })
            {
                await setup.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: quorum);
                await setup.QueueBindAsync(queue, Exchange, queue);
            }
        }

        var confirmOptions = new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(Math.Max(8 * publishBatch, 4 * prefetch)));
        await using var republisher = await consumerConnection.CreateChannelAsync(confirmOptions);
        await using var hop1 = await consumerConnection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: dispatchConcurrency));
        await using var hop2 = await consumerConnection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: dispatchConcurrency));
        await hop1.BasicQosAsync(0, prefetch, global: false);
        await hop2.BasicQosAsync(0, prefetch, global: false);

        Phase? phase = null;
        var forward = new AsyncEventingBasicConsumer(hop1);
        forward.ReceivedAsync += async (_, ea) =>
        {
            var properties = new BasicProperties { MessageId = ea.BasicProperties.MessageId, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            await republisher.BasicPublishAsync(Exchange, Hop2, mandatory: false, properties, ea.Body);
            await hop1.BasicAckAsync(ea.DeliveryTag, multiple: false);
        };
        var sink = new AsyncEventingBasicConsumer(hop2);
        sink.ReceivedAsync += async (_, ea) =>
        {
            var index = int.Parse(ea.BasicProperties.MessageId!, CultureInfo.InvariantCulture);
            await hop2.BasicAckAsync(ea.DeliveryTag, multiple: false);
            Volatile.Read(ref phase)!.Received(index);
        };
        await hop1.BasicConsumeAsync(Hop1, autoAck: false, forward);
        await hop2.BasicConsumeAsync(Hop2, autoAck: false, sink);
        await using var publisher = await publisherConnection.CreateChannelAsync(confirmOptions);

        // Warm-up rounds first (JIT, connections), as the scenarios warm their worker up, then the measured phase; each
        // waits for its last message.
        async Task<Phase> RunPhaseAsync(EventBatch current, bool paced)
        {
            var p = new Phase(current.Count);
            Volatile.Write(ref phase, p);
            Task Publish(int i)
            {
                var properties = new BasicProperties { MessageId = i.ToString(CultureInfo.InvariantCulture), ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
                current.SentTicks[i] = DateTime.UtcNow.Ticks;
                return publisher.BasicPublishAsync(Exchange, Hop1, mandatory: false, properties, current.Bodies[i]).AsTask();
            }

            var scope = new CpuScope(WorkerPid: null, new Uri(amqpUri).Port, Database: null);
            var cpuBefore = paced ? CpuSplit.Take(scope) : null;
            var clock = Stopwatch.StartNew();
            if (paced)
            {
                await Paced.PublishAsync(current.Count, perSecond!.Value, Publish);
            }
            else
            {
                var pending = new List<Task>(publishBatch);
                for (var start = 0; start < current.Count; start += publishBatch)
                {
                    pending.Clear();
                    for (var i = start; i < Math.Min(current.Count, start + publishBatch); i++)
                    {
                        pending.Add(Publish(i));
                    }

                    await Task.WhenAll(pending);
                }
            }

            if (await Task.WhenAny(p.Done, Task.Delay(TimeSpan.FromMinutes(10))) != p.Done)
            {
                throw new TimeoutException($"baseline: {p.Count} of {current.Count} messages arrived at the second hop within 10 minutes");
            }

            if (cpuBefore is not null)
            {
                // No worker here: "bench" is the publisher and both hops' consumers, all in this process.
                Progress.Write($"baseline-paced: {CpuSplit.Describe(cpuBefore, CpuSplit.Take(scope), clock.Elapsed.TotalSeconds, current.Count)}");
            }

            return p;
        }

        await warmup.RunAsync("baseline", async round =>
        {
            var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            var roundClock = Stopwatch.StartNew();
            await RunPhaseAsync(new EventBatch(1, [.. Enumerable.Repeat((1L, "input_file_uploaded"), warmup.RoundSize)]), paced: false);
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore;
            Progress.Write(string.Create(CultureInfo.InvariantCulture,
                $"baseline: warm-up round {round}, {warmup.RoundSize} messages in {roundClock.Elapsed.TotalSeconds:F1} s: this process compiled {compiled} methods"));
            return compiled;
        });

        if (batch.Count == 0)
        {
            throw new InvalidOperationException("the baseline batch is empty");
        }

        var measured = await RunPhaseAsync(batch, perSecond is not null);
        var first = batch.SentTicks.Min();
        var last = measured.ReceivedTicks.Max();
        var latencies = new double[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            latencies[i] = TimeSpan.FromTicks(measured.ReceivedTicks[i] - batch.SentTicks[i]).TotalMilliseconds;
        }

        return new Measurement(batch.Count, batch.Count, TimeSpan.FromTicks(last - first).TotalSeconds, latencies);
    }

    private sealed class Phase(int expected)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public long[] ReceivedTicks { get; } = new long[expected];

        public Task Done => _done.Task;

        public int Count => Volatile.Read(ref _count);

        public void Received(int index)
        {
            ReceivedTicks[index] = DateTime.UtcNow.Ticks;
            if (Interlocked.Increment(ref _count) == expected)
            {
                _done.TrySetResult();
            }
        }
    }
}

/// <param name="Handlers">Messages each consumer handles at once (<c>ConsumerDispatchConcurrency</c>).</param>
/// <param name="Prefetch">Unacknowledged messages per consumer (<c>basic.qos</c>).</param>
/// <param name="PublishBatch">Publishes of the first hop awaited together for their confirms.</param>
internal sealed record BaselineSettings(ushort Handlers, ushort Prefetch, int PublishBatch)
{
    /// <summary>The best of the sweep in bench/README.md ("The baseline's settings").</summary>
    public static BaselineSettings Default { get; } = new(128, 300, 500);

    public static IEnumerable<BaselineSettings> Sweep() =>
        from handlers in new ushort[] { 16, 32, 64, 128 }
        from prefetch in new ushort[] { 100, 300 }
        from batch in new[] { 500, 2000 }
        select new BaselineSettings(handlers, prefetch, batch);

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"handlers={Handlers} prefetch={Prefetch} confirm_batch={PublishBatch}");
}
