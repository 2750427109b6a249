using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Actionflow.Bench;

/// <summary>
/// Who allocates in a worker: reads a trace of <c>dotnet-trace collect --profile gc-verbose -p &lt;worker&gt;</c> and sums
/// its <c>GCAllocationTick</c> events (one per about 100 KB allocated, carrying the type of the object that crossed
/// the mark and the stack that allocated it) by type, by the first Actionflow frame of the stack, and by both. A share
/// is of the sampled bytes, so it estimates the share of everything the process allocated over the trace.
/// </summary>
internal static class AllocTrace
{
    public static int Run(string path, int top)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var byFrame = new Dictionary<string, long>(StringComparer.Ordinal);
        var byBoth = new Dictionary<string, long>(StringComparer.Ordinal);
        var byFrameCallee = new Dictionary<string, long>(StringComparer.Ordinal);
        var byLibraryFrame = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        var source = log.Events.GetSource();
        source.Clr.GCAllocationTick += (GCAllocationTickTraceData e) =>
        {
            var bytes = e.AllocationAmount64;
            total += bytes;
            var type = e.TypeName ?? "?";
            var (frame, callee) = FirstActionflowFrame(e.CallStack());
            Add(byType, type, bytes);
            Add(byFrame, frame, bytes);
            Add(byBoth, $"{frame}  <-  {type}", bytes);
            Add(byFrameCallee, $"{frame}  ->  {callee}", bytes);
            if (frame == NoFrame)
            {
                Add(byLibraryFrame, $"{FirstLibraryFrame(e.CallStack())}  <-  {type}", bytes);
            }
        };
        source.Process();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampled {total / 1024.0 / 1024.0:F1} MB in {path}"));
        Print("by type", byType, total, top);
        Print("by first Actionflow frame", byFrame, total, top);
        Print("by first Actionflow frame and the frame it called", byFrameCallee, total, top);
        Print("by first Actionflow frame and type", byBoth, total, top);
        Print("with no Actionflow frame: by the first frame outside the BCL (a library's own loop, or the runtime's)", byLibraryFrame, total, top);
        return 0;
    }

    private static (string Frame, string Callee) FirstActionflowFrame(TraceCallStack? stack)
    {
        var callee = "(allocation)";
        for (var s = stack; s is not null; s = s.Caller)
        {
            var name = s.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }

            if (name.StartsWith("Actionflow.", StringComparison.Ordinal))
            {
                return (Shorten(name), Shorten(callee));
            }

            callee = name;
        }

        return (NoFrame, Shorten(callee));
    }

    private const string NoFrame = "(no Actionflow frame)";

    private static string FirstLibraryFrame(TraceCallStack? stack)
    {
        for (var s = stack; s is not null; s = s.Caller)
        {
            var name = s.CodeAddress.FullMethodName;
            if (!string.IsNullOrEmpty(name) && !name.StartsWith("System.", StringComparison.Ordinal) && !name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal))
            {
                return Shorten(name);
            }
        }

        return "(the BCL only)";
    }

    private static string Shorten(string name)
    {
        var paren = name.IndexOf('(', StringComparison.Ordinal);
        return paren > 0 ? name[..paren] : name;
    }

    private static void Add(Dictionary<string, long> map, string key, long bytes) =>
        map[key] = map.GetValueOrDefault(key) + bytes;

    private static void Print(string title, Dictionary<string, long> map, long total, int top)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
        foreach (var (key, bytes) in map.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * bytes / total,6:F1} %  {key}"));
        }
    }
}
