using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Actionflow.Bench;

/// <summary>
/// What a worker compiles while it runs: reads a trace of
/// <c>dotnet-trace collect --clrevents jit --clreventlevel verbose -p &lt;worker&gt;</c> and sums the methods the JIT
/// finished (<c>MethodLoadVerbose</c>), with the time from each method's <c>MethodJittingStarted</c>, by optimization
/// tier, by namespace, and by method. A process in its steady state should compile next to nothing; methods compiled
/// again and again (dynamic methods made per call, a new generic instantiation per value) show here as counts.
/// </summary>
internal static class JitTrace
{
    public static int Run(string path, int top)
    {
        using var source = new EventPipeEventSource(path);
        var started = new Dictionary<long, double>();
        var byTier = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
        var byNamespace = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
        var byMethod = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
        int methods = 0;
        double totalMs = 0, first = double.NaN, last = 0;
        source.Clr.MethodJittingStarted += e => started[e.MethodID] = e.TimeStampRelativeMSec;
        source.Clr.MethodLoadVerbose += (MethodLoadUnloadVerboseTraceData e) =>
        {
            if (!started.Remove(e.MethodID, out var at))
            {
                return; // loaded from a ReadyToRun image, or its start fell before the trace
            }

            var ms = e.TimeStampRelativeMSec - at;
            methods++;
            totalMs += ms;
            first = double.IsNaN(first) ? at : first;
            last = e.TimeStampRelativeMSec;
            var dynamic = (e.MethodFlags & MethodFlags.Dynamic) != 0;
            Add(byTier, dynamic ? "dynamic method" : e.OptimizationTier.ToString(), ms);
            Add(byNamespace, dynamic ? "(dynamic)" : e.MethodNamespace, ms);
            Add(byMethod, $"{e.OptimizationTier}  {e.MethodNamespace}.{e.MethodName}", ms);
        };
        source.Process();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{methods} methods compiled in {path}, {totalMs:F0} ms of JIT time over {(last - first) / 1000:F1} s between the first and the last"));
        Print("by optimization tier", byTier, top);
        Print("by namespace (or the dynamic method's owner)", byNamespace, top);
        Print("by method (a name more than once: compiled again, at another tier or as another instantiation)", byMethod, top);
        return 0;
    }

    private static void Add(Dictionary<string, (int Count, double Ms)> map, string key, double ms)
    {
        var (count, sum) = map.GetValueOrDefault(key);
        map[key] = (count + 1, sum + ms);
    }

    private static void Print(string title, Dictionary<string, (int Count, double Ms)> map, int top)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}: count, ms");
        foreach (var (key, (count, ms)) in map.OrderByDescending(p => p.Value.Ms).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count,7} {ms,9:F1}  {key}"));
        }
    }
}
