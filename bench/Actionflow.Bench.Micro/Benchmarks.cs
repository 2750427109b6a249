using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using BenchmarkDotNet.Attributes;

namespace Actionflow.Bench.Micro;

/// <summary>Once per event on <c>event.new</c>: the body to an <see cref="Event"/>; and once per run: the event back to Diffgram's shape for the action context.</summary>
[MemoryDiagnoser]
public class EventParsing
{
    private static readonly DateTime Now = new(2026, 11, 27, 12, 0, 0, DateTimeKind.Utc);
    private byte[] _body = [];
    private Event _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        _body = Encoding.UTF8.GetBytes(Samples.DiffgramEvent(123_456, "input_file_uploaded", 42).ToJsonString());
        _event = DiffgramEventCodec.TryParse(_body, Now, out _)!;
        _event.Id = 987_654;
    }

    [Benchmark(Description = "DiffgramEventCodec.TryParse (typical 600 B event)")]
    public Event? TryParse() => DiffgramEventCodec.TryParse(_body, Now, out _);

    [Benchmark(Description = "DiffgramEventCodec.ToDiffgramJson (per run, action context)")]
    public JsonObject ToDiffgramJson() => DiffgramEventCodec.ToDiffgramJson(_event);

    [Benchmark(Description = "StepInvoker.ToActionEvent (per run, payload not read: noop)")]
    public Actionflow.Sdk.ActionEvent ToActionEvent() => StepInvoker.ToActionEvent(_event);

    [Benchmark(Description = "StepInvoker.ToActionEvent (per run, payload and extra_metadata read)")]
    public int ToActionEventRead()
    {
        var actionEvent = StepInvoker.ToActionEvent(_event);
        return actionEvent.Payload.Count + actionEvent.ExtraMetadata.Count;
    }
}

/// <summary>Once per event and once per finished run (its <c>action_completed</c>): the steps an event starts.</summary>
[MemoryDiagnoser]
public class TriggerMatching
{
    private static readonly string[] Kinds = ["input_file_uploaded", "task_created", "task_completed", "file_copy", "file_move"];
    private static readonly int[] Layout = [0, 1, 1, 2, 2, 2, 3, 4, 4, 4];
    private readonly TriggerIndex _index = new();
    private Event _matching = null!;
    private Event _actionCompleted = null!;

    /// <summary>Active workflows loaded: ten per project, five kinds, so an event matches 1 to 3 (as in bench/run many-workflows-*).</summary>
    [Params(10, 10_000)]
    public int Workflows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var triggers = new List<TriggerDefinition>(Workflows);
        for (var w = 0; w < Workflows; w++)
        {
            var project = 1 + w / Layout.Length;
            var kind = Kinds[Layout[w % Layout.Length]];
            triggers.Add(new TriggerDefinition(
                ActionId: 10_000 + w, ProjectId: project, WorkflowId: 1 + w, Kind: "noop", Ordinal: 0, EventName: kind,
                TriggerData: new JsonObject { ["event_name"] = kind }, ConfigData: [], PreviousActionId: null));
        }

        _index.Load(1, triggers);
        var lastProject = (Workflows - 1) / Layout.Length + 1;
        _matching = new Event { ExtraMetadata = [], Payload = [], Kind = "task_completed", ProjectId = lastProject, DirectoryId = 7 };
        _actionCompleted = new Event { ExtraMetadata = [], Payload = [], Kind = "action_completed", ProjectId = lastProject, ActionId = 10_000, WorkflowId = 1 };
    }

    [Benchmark(Description = "TriggerIndex.MatchSteps (event matching 3 steps)")]
    public IReadOnlyList<MatchedStep> Match() => _index.MatchSteps(_matching);

    [Benchmark(Description = "TriggerIndex.MatchSteps (action_completed, no next step)")]
    public IReadOnlyList<MatchedStep> MatchNone() => _index.MatchSteps(_actionCompleted);
}

/// <summary>
/// What a worker's index does when definitions change, at 100,000 one-step workflows (the database read left out):
/// rebuild from every trigger (a full load, as every change did before) against replacing one workflow's steps.
/// </summary>
[MemoryDiagnoser]
public class DefinitionsRefresh
{
    private readonly TriggerIndex _index = new();
    private List<TriggerDefinition> _triggers = [];
    private DefinitionChanges _change = null!;

    [Params(100_000)]
    public int Workflows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _triggers = [.. Enumerable.Range(0, Workflows).Select(w => Trigger(w, "task_completed"))];
        _index.Load(1, _triggers);
        _change = new DefinitionChanges([1 + Workflows / 2], [Trigger(Workflows / 2, "task_created")]);
    }

    private static TriggerDefinition Trigger(int w, string kind) => new(
        ActionId: 10_000 + w, ProjectId: 1 + w / 10, WorkflowId: 1 + w, Kind: "noop", Ordinal: 0, EventName: kind,
        TriggerData: new JsonObject { ["event_name"] = kind }, ConfigData: [], PreviousActionId: null);

    [Benchmark(Baseline = true, Description = "TriggerIndex.Load (every workflow, a full reload)")]
    public int Load()
    {
        _index.Load(_index.Version + 1, _triggers);
        return _index.Count;
    }

    [Benchmark(Description = "TriggerIndex.Apply (one workflow changed)")]
    public bool Apply() => _index.Apply(_index.Version, _index.Version + 1, _change);
}

/// <summary>Once per (event, step): the <c>actions.triggers</c> message written to the outbox and read by the actions consumer.</summary>
[MemoryDiagnoser]
public class TriggerMessages
{
    private readonly TriggerMessage _message = new(123_456_789, 4_567, 42);
    private byte[] _bytes = [];

    [GlobalSetup]
    public void Setup() => _bytes = _message.ToBytes();

    [Benchmark(Description = "TriggerMessage.ToBytes")]
    public byte[] ToBytes() => _message.ToBytes();

    [Benchmark(Description = "TriggerMessage.TryParse")]
    public TriggerMessage? TryParse() => TriggerMessage.TryParse(_bytes, out _);
}

/// <summary>
/// Every run-state write (an event accepted, a run claimed, a run ended) goes through a group commit: the cost it adds
/// per write in-process, with the database left out (a flush that writes nothing), 256 writers at once as the default
/// handler count gives.
/// </summary>
[MemoryDiagnoser]
public class RunStateWrites
{
    private const int Writers = 256;
    private readonly GroupCommit<long, bool> _commit = new(
        "bench",
        items => Task.FromResult<IReadOnlyList<bool>>(new bool[items.Count]),
        _ => Task.FromResult(false),
        maxBatch: 256);

    private readonly Task<bool>[] _pending = new Task<bool>[Writers];

    [Benchmark(Description = "GroupCommit: 256 concurrent run-state writes, batched", OperationsPerInvoke = Writers)]
    public async Task SubmitConcurrently()
    {
        for (var i = 0; i < Writers; i++)
        {
            _pending[i] = _commit.SubmitAsync(i, CancellationToken.None);
        }

        await Task.WhenAll(_pending);
    }
}

internal static class Samples
{
    /// <summary>A Diffgram <c>Event.serialize()</c> message, as bench/run publishes it.</summary>
    public static JsonObject DiffgramEvent(long id, string kind, long projectId) => new()
    {
        ["id"] = id,
        ["kind"] = kind,
        ["description"] = null,
        ["error_log"] = null,
        ["object_type"] = null,
        ["page_name"] = null,
        ["input_id"] = 101_000,
        ["project_id"] = projectId,
        ["directory_id"] = 7,
        ["action_id"] = null,
        ["workflow_id"] = null,
        ["file_id"] = 100_000,
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
}
