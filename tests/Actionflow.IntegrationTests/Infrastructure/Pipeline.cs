using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Actionflow.IntegrationTests.Infrastructure;

public enum PipelineMode
{
    /// <summary>RabbitMQ (durable quorum topology) and PostgreSQL.</summary>
    RabbitMqPostgres,
    /// <summary>RabbitMQ with Diffgram's own transient events exchange and queue, and PostgreSQL.</summary>
    DiffgramCompatible,
    /// <summary>No setup: SQLite file and the in-process transport.</summary>
    Embedded,
}

/// <summary>
/// One isolated Actionflow installation for a test: its own database (PostgreSQL database or SQLite folder) and its own
/// RabbitMQ virtual host, with worker processes started on it and a way to publish events as Diffgram does.
/// </summary>
public sealed class Pipeline : IAsyncDisposable
{
    private readonly ServiceProvider _storage;
    private readonly List<ActionflowProcess> _workers = [];
    private IConnection? _amqp;

    private Pipeline(PipelineMode mode, string database, string? broker, string? dataDirectory)
    {
        Mode = mode;
        Database = database;
        Broker = broker;
        DataDirectory = dataDirectory;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddActionflowStorage(new StorageOptions { ConnectionString = database, SecretsKey = mode == PipelineMode.Embedded ? null : SecretsKey });
        _storage = services.BuildServiceProvider();
    }

    /// <summary>
    /// The secrets key (<c>Actionflow__SecretsKey</c>) every worker on PostgreSQL is started with; embedded workers start
    /// without one and generate their key file, as the embedded default does.
    /// </summary>
    public const string SecretsKey = "dGVzdC1zZWNyZXRzLWtleS0zMi1ieXRlcy1sb25nISE=";

    /// <summary>The installation admin token every worker of a pipeline is started with (<c>Actionflow__AdminToken</c>).</summary>
    public const string AdminToken = "integration-admin-token-0123456789";

    public PipelineMode Mode { get; }

    public string Database { get; }

    public string? Broker { get; }

    public string? DataDirectory { get; }

    /// <summary>Every worker started so far, in order (killed ones included).</summary>
    public IReadOnlyList<ActionflowProcess> Workers => _workers;

    public IDbContextFactory<ActionflowDbContext> Contexts => _storage.GetRequiredService<IDbContextFactory<ActionflowDbContext>>();

    public static async Task<Pipeline> CreateAsync(PipelineMode mode)
    {
        if (mode == PipelineMode.Embedded)
        {
            var dir = Path.Combine(Path.GetTempPath(), "actionflow-test-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(dir);
            return new Pipeline(mode, $"Data Source={Path.Combine(dir, "actionflow.db")}", null, dir);
        }

        var database = await TestEnvironment.CreateDatabaseAsync();
        var broker = await TestEnvironment.CreateVirtualHostAsync();
        return new Pipeline(mode, database, broker, null);
    }

    public Dictionary<string, string> Environment(Dictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Actionflow__Database"] = Database,
            ["Actionflow__Broker"] = Broker ?? "",
            ["Actionflow__DiffgramCompatible"] = (Mode == PipelineMode.DiffgramCompatible).ToString(),
            ["Actionflow__Plugins__0"] = TestEnvironment.TestPluginAssembly,
            ["Actionflow__Engine__LeaseDuration"] = "00:00:06",
            ["Actionflow__AdminToken"] = AdminToken,
        };
        if (Mode != PipelineMode.Embedded)
        {
            env["Actionflow__SecretsKey"] = SecretsKey;
        }

        foreach (var (k, v) in extra ?? [])
        {
            env[k] = v;
        }

        return env;
    }

    public async Task<ActionflowProcess> StartWorkerAsync(Dictionary<string, string>? extra = null)
    {
        var worker = await ActionflowProcess.StartAsync(Environment(extra));
        _workers.Add(worker);
        return worker;
    }

    /// <summary>Waits until every worker's trigger index has loaded the definitions as they are now in the database.</summary>
    public async Task WaitForDefinitionsAsync()
    {
        var version = (await _storage.GetRequiredService<IDefinitionSource>().GetStampAsync(CancellationToken.None)).Version;
        foreach (var worker in _workers.Where(w => !w.HasExited))
        {
            var caughtUp = await EventuallyAsync(async () => await worker.DefinitionsVersionAsync() >= version, TimeSpan.FromSeconds(30));
            if (!caughtUp)
            {
                throw new TimeoutException($"worker did not load definitions version {version}:\n{worker.Output}");
            }
        }
    }

    /// <summary>Publishes an event the way Diffgram's QueueClient does (pika: JSON, content type, no persistence, no confirms).</summary>
    public async Task PublishAsync(JsonObject diffgramEvent) => await PublishRawAsync(Encoding.UTF8.GetBytes(diffgramEvent.ToJsonString()));

    public async Task PublishRawAsync(byte[] body)
    {
        if (Mode == PipelineMode.Embedded)
        {
            await _storage.GetRequiredService<IEmbeddedQueueStore>().EnqueueAsync(
                new OutboxMessage { Queue = QueueNames.Events, Body = body, TimeCreated = DateTime.UtcNow }, CancellationToken.None);
            return;
        }

        if (_amqp is { IsOpen: false })
        {
            await _amqp.DisposeAsync();
            _amqp = null;
        }

        _amqp ??= await new ConnectionFactory { Uri = new Uri(Broker!), AutomaticRecoveryEnabled = false }.CreateConnectionAsync("diffgram-like publisher");
        await using var channel = await _amqp.CreateChannelAsync();
        if (Mode == PipelineMode.DiffgramCompatible)
        {
            // QueueClient declares these three transient exchanges on every connection.
            await channel.ExchangeDeclareAsync("actions", ExchangeType.Direct, durable: false);
            await channel.ExchangeDeclareAsync("events", ExchangeType.Direct, durable: false);
            await channel.ExchangeDeclareAsync("exports", ExchangeType.Direct, durable: false);
        }

        var props = new BasicProperties { ContentType = "application/json" };
        await channel.BasicPublishAsync("events", "events.new", mandatory: false, props, body);
    }

    /// <summary>
    /// Publishes many messages on one channel with confirms, retrying (the same bodies, so the same event ids) while
    /// the broker is away; the embedded mode enqueues them. Returns once every message is accepted.
    /// </summary>
    public async Task PublishManyAsync(IReadOnlyList<byte[]> bodies, TimeSpan? giveUpAfter = null)
    {
        if (Mode == PipelineMode.Embedded)
        {
            foreach (var body in bodies)
            {
                await PublishRawAsync(body);
            }

            return;
        }

        var deadline = DateTime.UtcNow + (giveUpAfter ?? TimeSpan.FromMinutes(3));
        var next = 0;
        while (next < bodies.Count)
        {
            try
            {
                await using var connection = await new ConnectionFactory { Uri = new Uri(Broker!), AutomaticRecoveryEnabled = false }
                    .CreateConnectionAsync("fault-test publisher");
                await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
                while (next < bodies.Count)
                {
                    var batch = bodies.Skip(next).Take(200).ToList();
                    var pending = batch.Select(b => channel.BasicPublishAsync("events", "events.new", true,
                        new BasicProperties { ContentType = "application/json", Persistent = true }, b).AsTask()).ToList();
                    await Task.WhenAll(pending);
                    next += batch.Count;
                }
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // Broker away: the unconfirmed batch is published again; the events' ids make the repeats harmless.
                await Task.Delay(500);
            }
        }
    }

    /// <summary>A Diffgram <c>Event.serialize()</c> message.</summary>
    public static JsonObject DiffgramEvent(long id, string kind, long projectId, long? directoryId = null, long? fileId = null) => new()
    {
        ["id"] = id,
        ["kind"] = kind,
        ["description"] = null,
        ["error_log"] = null,
        ["object_type"] = null,
        ["page_name"] = null,
        ["input_id"] = fileId is null ? null : fileId + 1000,
        ["project_id"] = projectId,
        ["directory_id"] = directoryId,
        ["action_id"] = null,
        ["workflow_id"] = null,
        ["file_id"] = fileId,
        ["task_id"] = null,
        ["job_id"] = null,
        ["member_id"] = null,
        ["report_template_data"] = null,
        ["report_data"] = null,
        ["time_created"] = "2026-11-27",
        ["install_fingerprint"] = null,
        ["diffgram_version"] = "2024.10",
        ["host_os"] = "linux",
        ["storage_backend"] = "gcp",
        ["service_name"] = "walrus",
        ["extra_metadata"] = null,
    };

    public async Task<Project> CreateProjectAsync(string stringId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var project = new Project { StringId = stringId, Name = stringId, TimeCreated = DateTime.UtcNow };
        db.Add(project);
        await db.SaveChangesAsync();
        return project;
    }

    public async Task<Workflow> CreateWorkflowAsync(long projectId, string name, bool active = true, params (string Kind, string EventName, JsonObject Config, JsonObject? TriggerExtra)[] steps)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var now = DateTime.UtcNow;
        var workflow = new Workflow { ProjectId = projectId, Name = name, Active = active, TimeCreated = now, TimeUpdated = now };
        db.Add(workflow);
        await db.SaveChangesAsync();
        var ordinal = 0;
        foreach (var (kind, eventName, config, triggerExtra) in steps)
        {
            var trigger = new JsonObject { ["event_name"] = eventName };
            foreach (var (k, v) in triggerExtra ?? [])
            {
                trigger[k] = v?.DeepClone();
            }

            db.Add(new WorkflowAction
            {
                ProjectId = projectId,
                WorkflowId = workflow.Id,
                Kind = kind,
                PublicName = $"{kind} #{ordinal}",
                Ordinal = ordinal++,
                TriggerData = trigger,
                ConfigData = config,
                TimeCreated = now,
                TimeUpdated = now,
            });
        }

        await db.SaveChangesAsync();
        return workflow;
    }

    public async Task<List<WorkflowAction>> StepsAsync(long workflowId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        return await db.Set<WorkflowAction>().Where(a => a.WorkflowId == workflowId).OrderBy(a => a.Ordinal).ToListAsync();
    }

    public async Task<List<ActionRun>> RunsAsync(long? projectId = null)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var query = db.Set<ActionRun>().AsNoTracking();
        if (projectId is { } p)
        {
            query = query.Where(r => r.ProjectId == p);
        }

        return await query.OrderBy(r => r.Id).ToListAsync();
    }

    public async Task<List<Event>> EventsAsync()
    {
        await using var db = await Contexts.CreateDbContextAsync();
        return await db.Set<Event>().AsNoTracking().OrderBy(e => e.Id).ToListAsync();
    }

    /// <summary>
    /// Waits until the installation has nothing left to do, seen twice in a row: every action run has ended, no outbox
    /// row waits (with the embedded transport that table is the queue itself), and, with RabbitMQ, every queue of the
    /// pipeline's virtual host is empty with nothing unacknowledged. Work in flight is always in one of those places,
    /// so a duplicate that is still coming keeps this waiting; after it, counting what happened is final.
    /// </summary>
    public async Task WaitUntilSettledAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var quiet = 0;
        while (DateTime.UtcNow < deadline)
        {
            quiet = await IsSettledAsync() ? quiet + 1 : 0;
            if (quiet == 2)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the pipeline still had work in flight; runs: " + string.Join("; ", (await RunsAsync()).Select(r => $"{r.Id} {r.Status}")));
    }

    private async Task<bool> IsSettledAsync()
    {
        if (Broker is not null && !await TestEnvironment.QueuesEmptyAsync(Broker))
        {
            return false;
        }

        await using (var db = await Contexts.CreateDbContextAsync())
        {
            if (await db.Set<OutboxMessage>().AnyAsync()
                || await db.Set<ActionRun>().AnyAsync(r => r.Status == ActionRunStatus.Pending || r.Status == ActionRunStatus.Running || r.Status == ActionRunStatus.Retrying || r.Status == ActionRunStatus.Waiting))
            {
                return false;
            }
        }

        // Again after the database: a message relayed meanwhile left the outbox for a queue.
        return Broker is null || await TestEnvironment.QueuesEmptyAsync(Broker);
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return await condition();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (_amqp is not null)
        {
            await _amqp.DisposeAsync();
        }

        await _storage.DisposeAsync();
        if (Mode == PipelineMode.Embedded)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(DataDirectory!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        else
        {
            await TestEnvironment.DropDatabaseAsync(Database);
            await TestEnvironment.DeleteVirtualHostAsync(Broker!);
        }
    }
}
