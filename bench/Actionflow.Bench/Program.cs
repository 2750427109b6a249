using System.Globalization;
using Actionflow.Bench;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var outDir = options.OutputDirectory
    ?? Path.Combine(BenchEnvironment.RepositoryRoot, "bench", "out", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
Directory.CreateDirectory(outDir);
Progress.Write($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}; worker logs and memory samples in {outDir}");

// The ceiling, measured first in the same invocation: every ratio divides by it.
var failed = false;
double baselineRate;
try
{
    var size = options.BaselineEvents ?? options.Events ?? options.Scale(50_000);
    var vhost = await BenchEnvironment.CreateVirtualHostAsync("baseline");
    try
    {
        var warmup = new EventBatch(1, [.. Enumerable.Repeat((1L, "input_file_uploaded"), options.Warmup ?? (options.Quick ? 500 : 1000))]);
        var batch = new EventBatch(1, [.. Enumerable.Repeat((1L, "input_file_uploaded"), size)]);
        var baseline = await Baseline.RunAsync(vhost, warmup, batch);
        baselineRate = baseline.EventsPerSecond;
        Console.WriteLine(baseline.Line("baseline", 0, baselineRate));
    }
    finally
    {
        await BenchEnvironment.DeleteVirtualHostAsync(vhost);
    }
}
catch (Exception ex)
{
    Console.Error.WriteLine($"scenario=baseline error: {ex}");
    return 1;
}

foreach (var name in options.Scenarios.Where(s => s != "baseline"))
{
    try
    {
        var plan = ScenarioPlan.For(name, options);
        var (measurement, peakRssMb) = await ScenarioRunner.RunAsync(plan, options, outDir);
        Console.WriteLine(measurement.Line(name, peakRssMb, baselineRate));
    }
    catch (Exception ex)
    {
        failed = true;
        Console.Error.WriteLine($"scenario={name} error: {ex}");
    }
}

return failed ? 1 : 0;
