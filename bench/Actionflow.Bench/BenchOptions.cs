using System.Globalization;

namespace Actionflow.Bench;

/// <summary>Command line of <c>bench/run</c>.</summary>
internal sealed class BenchOptions
{
    public static readonly string[] AllScenarios =
        ["baseline", "baseline-sweep", "baseline-paced", "one-step", "three-step", "three-step-paced", "paced", "many-workflows-10", "many-workflows-10000", "many-workflows-100000", "embedded", "embedded-paced", "schedules", "windows", "filter", "diamond", "http", "http-embedded", "http-paced", "http-embedded-paced"];

    public List<string> Scenarios { get; } = [];

    /// <summary>Events per scenario, overriding each scenario's default.</summary>
    public int? Events { get; set; }

    /// <summary>Messages of the baseline; default: <see cref="Events"/>, else the one-step default.</summary>
    public int? BaselineEvents { get; set; }

    /// <summary>Scale every default size down ×10.</summary>
    public bool Quick { get; set; }

    /// <summary>Paced scenario: events per second.</summary>
    public double Rate { get; set; } = 1000;

    /// <summary>Paced scenario: seconds of publishing (ignored when <see cref="Events"/> is given).</summary>
    public double? Duration { get; set; }

    /// <summary>Events of the one warm-up round (sent and awaited before measuring); null: rounds until the JIT is quiet (<see cref="ScenarioRunner.WarmUpAsync"/>).</summary>
    public int? Warmup { get; set; }

    /// <summary>Keep the scenario's database, vhost and SQLite folder afterwards.</summary>
    public bool Keep { get; set; }

    /// <summary>Log level of the worker process (Information logs a line per event and per run).</summary>
    public string WorkerLogLevel { get; set; } = "Warning";

    /// <summary>Extra environment for the worker (<c>--worker-env Name=Value</c>), e.g. <c>Actionflow__Concurrency=32</c>.</summary>
    public Dictionary<string, string> WorkerEnvironment { get; } = new(StringComparer.Ordinal);

    public string? OutputDirectory { get; set; }

    /// <summary>Sample the worker's CPU over the measured phase (<c>--profile</c>; http scenarios) and print where it went.</summary>
    public bool Profile { get; set; }

    /// <summary>Schedules scenario: ticks measured (default 3, 2 with --quick).</summary>
    public int? Ticks { get; set; }

    /// <summary>Windows scenario: keys the events are spread over (default 100).</summary>
    public int? Keys { get; set; }

    /// <summary>HTTP scenarios: concurrent connections of the load client.</summary>
    public int Connections { get; set; } = 64;

    /// <summary>The baseline's handlers, prefetch and confirm batch (<c>--baseline-handlers</c>, <c>--baseline-prefetch</c>, <c>--baseline-confirm-batch</c>).</summary>
    public BaselineSettings Baseline { get; set; } = BaselineSettings.Default;

    /// <summary>Times the whole list runs, each round with its own baseline; even rounds run the scenarios in reverse order.</summary>
    public int Rounds { get; set; } = 1;

    public int Scale(int fullSize) => Quick ? Math.Max(1, fullSize / 10) : fullSize;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            switch (arg)
            {
                case "--scenario" or "-s":
                    foreach (var name in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!AllScenarios.Contains(name, StringComparer.Ordinal) && name != StartScenario.Name)
                        {
                            throw new ArgumentException($"unknown scenario '{name}'; known: {string.Join(", ", AllScenarios)}, {StartScenario.Name}");
                        }

                        options.Scenarios.Add(name);
                    }

                    break;
                case "--events" or "-n":
                    options.Events = PositiveInt(arg, Value());
                    break;
                case "--baseline-events":
                    options.BaselineEvents = PositiveInt(arg, Value());
                    break;
                case "--quick":
                    options.Quick = true;
                    break;
                case "--ticks":
                    options.Ticks = PositiveInt(arg, Value());
                    break;
                case "--keys":
                    options.Keys = PositiveInt(arg, Value());
                    break;
                case "--rate":
                    options.Rate = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--duration":
                    options.Duration = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--warmup":
                    options.Warmup = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--keep":
                    options.Keep = true;
                    break;
                case "--worker-log-level":
                    options.WorkerLogLevel = Value();
                    break;
                case "--worker-env":
                    var pair = Value().Split('=', 2);
                    options.WorkerEnvironment[pair[0]] = pair.Length == 2 ? pair[1] : "";
                    break;
                case "--connections":
                    options.Connections = PositiveInt(arg, Value());
                    break;
                case "--baseline-handlers":
                    options.Baseline = options.Baseline with { Handlers = checked((ushort)PositiveInt(arg, Value())) };
                    break;
                case "--baseline-prefetch":
                    options.Baseline = options.Baseline with { Prefetch = checked((ushort)PositiveInt(arg, Value())) };
                    break;
                case "--baseline-confirm-batch":
                    options.Baseline = options.Baseline with { PublishBatch = PositiveInt(arg, Value()) };
                    break;
                case "--rounds":
                    options.Rounds = PositiveInt(arg, Value());
                    break;
                case "--profile":
                    options.Profile = true;
                    break;
                case "--out":
                    options.OutputDirectory = Value();
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{arg}'");
            }
        }

        if (options.Scenarios.Count == 0)
        {
            options.Scenarios.AddRange(AllScenarios.Where(s => s != "baseline-sweep"));
        }

        return options;
    }

    public const string Usage = """
        usage: bench/run [--scenario NAME[,NAME...]] [--events N] [--quick] [options]

          --scenario, -s     baseline, baseline-paced, one-step, three-step, three-step-paced, paced, many-workflows-10, many-workflows-10000,
                             many-workflows-100000, embedded, embedded-paced, filter, diamond, schedules, windows, http, http-embedded,
                             http-paced, http-embedded-paced
                             (default: all, in that order; the baseline always runs first for the ratio);
                             start (not in the default list): ms from process start to /health/ready, four cases,
                             --rounds starts each, against a bare ASP.NET Core app's start (its own baseline)
          --events, -n N     events per scenario (default: each scenario's own size)
          --quick            every default size ×1/10
          --baseline-events  messages of the baseline (default: --events, else 50,000 or 5,000 with --quick)
          --baseline-handlers N, --baseline-prefetch N, --baseline-confirm-batch N
                             the baseline's consumer handlers, prefetch and first-hop confirm batch (default 128, 300, 500: the sweep's best)
          --scenario baseline-sweep
                             the baseline once per combination of handlers 16/32/64/128, prefetch 100/300 and confirm
                             batch 500/2000, one line each (baseline_settings=...); runs only when named
          --rate R           paced, three-step-paced, embedded-paced: events (chains) per second (default 1000)
          --duration S       paced, three-step-paced, embedded-paced: seconds (default 30, 3 with --quick); http: send for S seconds instead of --events
          --connections N    http: concurrent connections of the load client (default 64)
          --ticks N          schedules: ticks measured (default 3, 2 with --quick); --events is the number of schedules
          --keys N           windows: keys the events are spread over (default 100)
          --warmup N         one round of N events sent and awaited before measuring (0: none); by default rounds of 5,000
                             (1,000 with --quick) until one in which the worker compiled at most 50 methods (150 s at most)
          --worker-log-level worker's Logging__LogLevel__Default (default Warning)
          --profile          http and the one-step-style scenarios (embedded, paced, ...): sample the worker's CPU over the measured phase (EventPipe), write
                             <out>/<scenario>.nettrace and print CPU share by component (see CpuProfile.cs)
          --worker-env K=V   extra environment for the worker, e.g. Actionflow__Concurrency=32 (repeatable)
          --rounds N         run the list N times, each round with its own baseline, even rounds in reverse order;
                             adds round=<k> to each line, then one median line per scenario (round=median)
          --keep             keep each scenario's database, vhost and SQLite folder
          --out DIR          where worker logs and memory samples go (default bench/out/<timestamp>)

        Prints one line per scenario on stdout:
          scenario=<name> events=<n> runs=<n> seconds=<s> events_per_s=<x> p50_ms=<x> p95_ms=<x> p99_ms=<x> max_ms=<x> peak_rss_mb=<x> baseline_events_per_s=<x> ratio_to_baseline=<x>
        start prints one line per case instead:
          scenario=start-<case> rounds=<n> min_ms=<x> p50_ms=<x> max_ms=<x> baseline_p50_ms=<x> ratio_to_baseline=<x>
        and, when many-workflows-10 ran with many-workflows-10000 (or -100000), the rate of the larger over that of 10, paired by round:
          comparison=many-workflows-10000/many-workflows-10 rounds=<n> ratio_median=<x> ratio_min=<x> ratio_max=<x> ratios=<x,...>
        """;

    private static int PositiveInt(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive integer, not '{value}'");
}
