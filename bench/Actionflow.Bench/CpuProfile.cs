using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Actionflow.Bench;

/// <summary>
/// CPU sampling of the worker over EventPipe, as <c>dotnet-trace collect --profile cpu-sampling</c> takes it (the runtime's
/// sample profiler, every thread about once a millisecond, with the JIT's method names and a rundown at the end), written
/// to a <c>.nettrace</c> file; <see cref="Table"/> turns such a file (this one, or one dotnet-trace wrote) into CPU
/// shares by stage of the request and by the code the samples were in.
/// </summary>
/// <remarks>
/// EventPipe samples every managed thread, running or not. A sample counts as CPU when the thread was in managed code,
/// or in native code (SQLite, a syscall, the GC) with a leaf frame that is not one of the known waits (<see cref="Waits"/>):
/// a thread-pool thread parked on its semaphore, the socket engine in <c>epoll_wait</c>, a timer or monitor wait.
/// What native code did below its managed caller is not seen: SQLite's own work shows as its P/Invoke, the kernel's
/// as the syscall's. Shares, not times, are the point: under load the absolute figures mean little.
/// </remarks>
internal sealed class CpuProfile : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly FileStream _file;
    private readonly Task _copy;

    private CpuProfile(EventPipeSession session, string path)
    {
        _session = session;
        Path = path;
        _file = File.Create(path);
        _copy = session.EventStream.CopyToAsync(_file);
    }

    public string Path { get; }

    public static CpuProfile? TryStart(int pid, string path)
    {
        try
        {
            var providers = new[]
            {
                new EventPipeProvider("Microsoft-DotNETCore-SampleProfiler", EventLevel.Informational),
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)ClrTraceEventParser.Keywords.Default),
            };
            return new CpuProfile(new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: true), path);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException or IOException or TimeoutException)
        {
            Progress.Write($"worker {pid}: no CPU profile ({ex.Message})");
            return null;
        }
    }

    /// <summary>Stops the session; the file is complete (rundown included) when this returns.</summary>
    public async Task StopAsync()
    {
        await _session.StopAsync(CancellationToken.None);
        await _copy;
        await _file.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _session.Dispose();
        await _file.DisposeAsync();
    }

    /// <summary>The stages of a request and of the work it starts, by a frame of theirs on the stack; the innermost one on a stack wins.</summary>
    private static readonly (string Stage, string[] Frames)[] Stages =
    [
        ("Kestrel: connection, HTTP parsing, response", ["Microsoft.AspNetCore.Server.Kestrel"]),
        ("middleware: exception handler, status pages, content type, body limit, security headers",
            ["Microsoft.AspNetCore.Diagnostics", "JsonContentTypeMiddleware", "RequestBodyLimitMiddleware", "SecurityHeaders", "Microsoft.AspNetCore.Hosting"]),
        ("routing", ["Microsoft.AspNetCore.Routing"]),
        ("authentication, authorization, rate limiter",
            ["Microsoft.AspNetCore.Authentication", "Microsoft.AspNetCore.Authorization", "Microsoft.AspNetCore.RateLimiting", "ApiKeyAuthenticationHandler", "ApiPrincipal"]),
        ("API key read", ["ApiKeyLookup"]),
        ("project access filter and project read", ["ProjectAccessFilter", "ProjectLookup"]),
        ("endpoint: body binding, filters, result writing",
            ["Microsoft.AspNetCore.Http.RequestDelegateFactory", "Microsoft.AspNetCore.Http.HttpResults", "Microsoft.AspNetCore.Http.HttpRequestJsonExtensions",
             "Microsoft.AspNetCore.Http.HttpResponseJsonExtensions", "Microsoft.AspNetCore.Http.Generated", "EndpointFilterInvocationContext", "Microsoft.AspNetCore.Http.Json"]),
        ("EmitAsync: validation, the event built", ["EventEndpoints"]),
        ("definitions version read (refresh)", ["Endpoints.Definitions", "DefinitionsRefresher", "CoalescedRead"]),
        ("ingest: match, submit to the group commit", ["EventIngestor", "DetachedChains+<IngestAsync", "DetachedChains.IngestAsync", "TriggerIndex", "HeldSteps"]),
        ("accept group commit (the event's transaction)", ["AcceptBatchAsync", "AcceptOneAsync", "PipelineWrites.Insert", "InsertAsync", "KnownDuplicatesAsync"]),
        ("chain: steps run after the 202 (claims, runner, completions)",
            ["ChainRunner", "StepInvoker", "DetachedChains+<RunAsync", "DetachedChains.RunAsync", "CompleteBatchAsync", "ClaimBatchAsync", "RunRecorder", "CompletionPlanner"]),
        ("other group commits and background (outbox, sweeper, refresher timer, leases)", ["GroupCommit", "Outbox", "Sweeper", "Lease"]),
    ];

    /// <summary>Where the sampled code was (the leaf frame's assembly or namespace), first match wins.</summary>
    private static readonly (string Part, string[] Prefixes)[] Parts =
    [
        ("Actionflow", ["Actionflow."]),
        ("SQLite (Microsoft.Data.Sqlite, SQLitePCL; native below)", ["Microsoft.Data.Sqlite", "SQLitePCL"]),
        ("Npgsql", ["Npgsql"]),
        ("EF Core", ["Microsoft.EntityFrameworkCore"]),
        ("Kestrel", ["Microsoft.AspNetCore.Server.Kestrel"]),
        ("ASP.NET Core (other)", ["Microsoft.AspNetCore."]),
        ("System.Text.Json", ["System.Text.Json"]),
        ("logging", ["Microsoft.Extensions.Logging"]),
        ("dependency injection", ["Microsoft.Extensions.DependencyInjection"]),
        ("sockets, pipelines", ["System.Net.", "System.IO.Pipelines"]),
        ("LINQ, collections", ["System.Linq", "System.Collections"]),
        ("threading, tasks, async", ["System.Threading"]),
        ("runtime, BCL (other managed)", ["System.", "Microsoft.", "Interop"]),
    ];

    /// <summary>Leaf frames of a thread that is waiting, not running.</summary>
    private static readonly string[] Waits =
    [
        "LowLevelLifoSemaphore", "WaitHandle.Wait", "WaitOneCore", "WaitMultiple", "Monitor.Wait", "LowLevelMonitor", "LowLevelCondition",
        "WaitForSocketEvents", "Thread.Sleep", "SleepInternal", "Thread.Join", "ManualResetEventSlim.Wait", "SemaphoreSlim.Wait",
        "WaitSubsystem", "SocketAsyncEngine.EventLoop", "WorkerThread.WorkerThreadStart", "TimerQueue.TimerThread", "WaitForSignal",
        "LowLevelLifoSemaphore.Wait", "CounterGroup.PollForValues", "ThreadPoolWorkerThreadWait", "TimerQueue.WaitForSignal", "PortableThreadPool+GateThread", "Interop+Sys.Poll", "Interop+Sys.Read(",
        "Interop+Sys.WaitPid", "Console", "EventPipe", "Interop+Sys.ReadLink",
    ];

    /// <summary>The table of a <c>.nettrace</c> file: CPU share by stage, by part, and the top leaf methods.</summary>
    public static string Table(string nettracePath, int top = 25)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(nettracePath, null, new TraceLogOptions { ContinueOnError = true });
        using var log = new TraceLog(etlx);
        var source = log.Events.GetSource();
        var stages = new Dictionary<string, int>(StringComparer.Ordinal);
        var parts = new Dictionary<string, int>(StringComparer.Ordinal);
        var leaves = new Dictionary<string, int>(StringComparer.Ordinal);
        var inclusive = new Dictionary<string, int>(StringComparer.Ordinal);
        var paths = new Dictionary<string, int>(StringComparer.Ordinal);
        int cpu = 0, waiting = 0, managed = 0, gcPolls = 0, spinning = 0;
        var frames = new List<string>(64);
        var parser = new SampleProfilerTraceEventParser(source);
        parser.ThreadSample += sample =>
        {
            frames.Clear();
            for (var stack = sample.CallStack(); stack is not null; stack = stack.Caller)
            {
                var name = stack.CodeAddress.FullMethodName;
                frames.Add(string.IsNullOrEmpty(name) ? "?!" + stack.CodeAddress.ModuleName : name);
            }

            if (frames.Count == 0)
            {
                return;
            }

            var leaf = frames[0];
            var running = sample.Type == ClrThreadSampleType.Managed;
            // A thread in native code below a wait (epoll, a semaphore, a timer) is parked; its native frames do not resolve.
            var resolved = frames.FirstOrDefault(f => !f.StartsWith("?!", StringComparison.Ordinal)) ?? leaf;
            if ((!running || ReferenceEquals(resolved, leaf)) && Waits.Any(w => resolved.Contains(w, StringComparison.Ordinal)))
            {
                waiting++;
                return;
            }

            // An idle thread-pool worker spinning before it parks: CPU, but no request's; counted apart so the stages compare.
            if (resolved.Contains("LowLevelSpinWaiter", StringComparison.Ordinal) && frames.Any(f => f.Contains("LowLevelLifoSemaphore", StringComparison.Ordinal)))
            {
                spinning++;
                return;
            }

            // A thread stopped at a GC poll waits for the collection (whose own work shows as native samples elsewhere).
            if (leaf.Contains("PollGC", StringComparison.Ordinal))
            {
                gcPolls++;
                return;
            }

            cpu++;
            managed += running ? 1 : 0;
            var stage = "thread pool, timers, other (no stage frame)";
            foreach (var frame in frames)
            {
                if (Stages.FirstOrDefault(s => s.Frames.Any(f => frame.Contains(f, StringComparison.Ordinal))) is { Stage: not null } found)
                {
                    stage = found.Stage;
                    break;
                }
            }

            if (stage.StartsWith("thread pool", StringComparison.Ordinal) && frames.Any(f => f.StartsWith("Actionflow.", StringComparison.Ordinal)))
            {
                stage = "other Actionflow code";
            }

            Count(stages, stage);
            var part = Parts.FirstOrDefault(p => p.Prefixes.Any(x => leaf.StartsWith(x, StringComparison.Ordinal))).Part
                ?? (running ? "other managed" : "native (" + (leaf.StartsWith("?!", StringComparison.Ordinal) ? leaf[2..] : "unresolved") + ")");
            Count(parts, part);
            Count(leaves, Shorten(leaf));
            // The leaf and the first frames above it that say who called: unresolved native frames skipped.
            Count(paths, string.Join(" ← ", frames.Where(f => !f.StartsWith("?!", StringComparison.Ordinal)).Take(4).Select(f => Shorten(f).Split('.')[^1].Length < 3 ? Shorten(f) : Tail(Shorten(f)))));
            foreach (var name in frames.Where(f => f.StartsWith("Actionflow.", StringComparison.Ordinal)).Select(Shorten).Distinct(StringComparer.Ordinal))
            {
                Count(inclusive, name);
            }
        };
        source.Process();

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{spinning} samples of idle thread-pool workers spinning before they park ({100.0 * spinning / Math.Max(cpu + spinning, 1):F1} % of all running samples), left out below");
        text.AppendLine(CultureInfo.InvariantCulture, $"{cpu} CPU samples ({managed} in managed code, {cpu - managed} in native code below a managed frame); {waiting} waiting samples and {gcPolls} of threads stopped for a GC left out");
        Section(text, "stage (innermost stage frame on the stack)", stages, cpu, int.MaxValue);
        Section(text, "code the sample was in (leaf frame)", parts, cpu, int.MaxValue);
        Section(text, "leaf methods", leaves, cpu, top);
        Section(text, "Actionflow methods on the stack (inclusive)", inclusive, cpu, top);
        Section(text, "stacks: the innermost four resolved frames", paths, cpu, top + 15);
        return text.ToString();

        static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
    }

    private static void Section(StringBuilder text, string title, Dictionary<string, int> counts, int total, int top)
    {
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"| share | {title} |").AppendLine("|---:|---|");
        foreach (var (key, count) in counts.OrderByDescending(p => p.Value).Take(top))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {100.0 * count / Math.Max(total, 1):F1} % | {key.Replace("|", "\\|", StringComparison.Ordinal)} |");
        }
    }

    /// <summary>The type's and the method's names, without the namespace.</summary>
    private static string Tail(string method)
    {
        var generic = method.IndexOf('[', StringComparison.Ordinal);
        var plain = generic > 0 ? method[..generic] : method;
        var dot = plain.LastIndexOf('.');
        var typeDot = dot > 0 ? plain.LastIndexOf('.', dot - 1) : -1;
        return typeDot >= 0 ? method[(typeDot + 1)..] : method;
    }

    private static string Shorten(string frame)
    {
        var paren = frame.IndexOf('(', StringComparison.Ordinal);
        return paren > 0 ? frame[..paren] : frame;
    }
}
