using System.Globalization;
using Actionflow.Bench;

if (args is ["--alloc-trace", var allocTracePath, ..])
{
    return AllocTrace.Run(allocTracePath, args is [_, _, var topText] ? int.Parse(topText, CultureInfo.InvariantCulture) : 40);
}

if (args is ["--jit-trace", var jitTracePath, ..])
{
    return JitTrace.Run(jitTracePath, args is [_, _, var topText] ? int.Parse(topText, CultureInfo.InvariantCulture) : 40);
}

// A trace taken elsewhere (dotnet-trace collect --profile cpu-sampling -p <worker>): the same table as --profile prints.
if (args is ["--cpu-table", var cpuTracePath])
{
    Console.WriteLine(CpuProfile.Table(cpuTracePath));
    return 0;
}

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

if (options.Scenarios.Contains("baseline-sweep"))
{
    foreach (var settings in BaselineSettings.Sweep())
    {
        var sweep = await RunBaselineAsync(options, settings);
        Console.WriteLine($"{sweep.Line("baseline-sweep", 0, sweep.EventsPerSecond)} {settings.Describe()}");
    }

    options.Scenarios.Remove("baseline-sweep");
    if (options.Scenarios.Count == 0)
    {
        return 0;
    }
}

// Start time has a baseline of its own (a bare ASP.NET Core app's start) and runs its rounds itself.
var startFailed = false;
if (options.Scenarios.Remove(StartScenario.Name))
{
    startFailed = !await StartScenario.RunAsync(options, outDir);
    if (options.Scenarios.Count == 0)
    {
        return startFailed ? 1 : 0;
    }
}

// Each round measures the ceiling first, then the scenarios: every ratio divides by the baseline of its own round.
// Rounds alternate the scenarios' order, so neither side of a comparison always runs first.
var failed = startFailed;
var results = new List<RoundResult>();
for (var round = 1; round <= options.Rounds; round++)
{
    var suffix = options.Rounds > 1 ? string.Create(CultureInfo.InvariantCulture, $" round={round}") : "";
    double baselineRate;
    try
    {
        var baseline = await RunBaselineAsync(options, options.Baseline);
        baselineRate = baseline.EventsPerSecond;
        Console.WriteLine(baseline.Line("baseline", 0, baselineRate) + suffix);
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"scenario=baseline error: {ex}");
        return 1;
    }

    var names = options.Scenarios.Where(s => s != "baseline").ToList();
    if (round % 2 == 0)
    {
        names.Reverse();
    }

    foreach (var name in names)
    {
        if (name == "baseline-paced")
        {
            try
            {
                var floor = await RunBaselineAsync(options, options.Baseline, options.Rate);
                results.Add(new RoundResult(name, round, floor, 0, baselineRate));
                Console.WriteLine(floor.Line(name, 0, baselineRate) + suffix);
            }
            catch (Exception ex)
            {
                failed = true;
                Console.Error.WriteLine($"scenario={name} error: {ex}");
            }

            continue;
        }

        try
        {
            var plan = ScenarioPlan.For(name, options);
            var (measurement, peakRssMb) = await ScenarioRunner.RunAsync(plan, options, outDir);
            results.Add(new RoundResult(name, round, measurement, peakRssMb, baselineRate));
            Console.WriteLine(measurement.Line(name, peakRssMb, baselineRate) + suffix);
        }
        catch (Exception ex)
        {
            failed = true;
            Console.Error.WriteLine($"scenario={name} error: {ex}");
        }
    }
}

if (options.Rounds > 1)
{
    foreach (var line in RoundResult.Summaries(results, options.Scenarios, options.Rounds))
    {
        Console.WriteLine(line);
    }
}

foreach (var flow in (string[])["filter", "diamond"])
{
    if (RoundResult.Comparison(results, flow, "one-step") is { } flowComparison)
    {
        Console.WriteLine(flowComparison);
    }
}

foreach (var many in (string[])["many-workflows-10000", "many-workflows-100000"])
{
    if (RoundResult.Comparison(results, many, "many-workflows-10") is { } comparison)
    {
        Console.WriteLine(comparison);
    }
}

return failed ? 1 : 0;

// perSecond: the baseline-paced floor, sized like the paced scenarios (--events, else --rate × --duration).
static async Task<Measurement> RunBaselineAsync(BenchOptions options, BaselineSettings settings, double? perSecond = null)
{
    var size = perSecond is { } rate
        ? options.Events ?? (int)Math.Round(rate * (options.Duration ?? (options.Quick ? 3 : 30)))
        : options.BaselineEvents ?? options.Events ?? options.Scale(50_000);
    var vhost = await BenchEnvironment.CreateVirtualHostAsync("baseline");
    try
    {
        var batch = new EventBatch(1, [.. Enumerable.Repeat((1L, "input_file_uploaded"), size)]);
        return await Baseline.RunAsync(vhost, WarmupPlan.For(options), batch, settings, perSecond);
    }
    finally
    {
        await BenchEnvironment.DeleteVirtualHostAsync(vhost);
    }
}
