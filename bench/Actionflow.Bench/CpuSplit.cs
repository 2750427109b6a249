using System.Globalization;

namespace Actionflow.Bench;

/// <summary>Which processes belong to the scenario: its worker, the broker it uses, its database.</summary>
/// <param name="BrokerPort">The AMQP port; the beam.smp listening on it is "rabbitmq", other brokers' are "other". Null: no broker (embedded).</param>
/// <param name="Database">PostgreSQL backends of this database and the cluster's background processes are "postgres"; backends of other databases are "other".</param>
internal sealed record CpuScope(int? WorkerPid, int? BrokerPort, string? Database);

/// <summary>
/// CPU time by process group from /proc, to tell where a scenario's time went: the worker, RabbitMQ (the beam.smp
/// serving our port), PostgreSQL (our database's backends and the cluster's own processes), this benchmark
/// process, and everything else on the machine.
/// </summary>
internal sealed class CpuSplit
{
    private const double TicksPerSecond = 100; // USER_HZ, 100 on Linux

    private readonly Dictionary<string, double> _seconds;
    private readonly double _machineBusy;
    private readonly double _machineTotal;
    private readonly double _machineStolen;

    private CpuSplit(Dictionary<string, double> seconds, double machineBusy, double machineTotal, double machineStolen)
    {
        _seconds = seconds;
        _machineBusy = machineBusy;
        _machineTotal = machineTotal;
        _machineStolen = machineStolen;
    }

    public static CpuSplit Take(CpuScope scope)
    {
        var seconds = new Dictionary<string, double>(StringComparer.Ordinal);
        var self = Environment.ProcessId;
        // No port (embedded): no process is the broker. A port whose listener is not found: every beam.smp is.
        var broker = scope.BrokerPort is { } port ? ListeningPid(port) ?? 0 : -1;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || TryRead(Path.Combine(dir, "stat")) is not { } stat)
            {
                continue;
            }

            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open)
            {
                continue;
            }

            var comm = stat[(open + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
            var cpu = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            var group = pid == scope.WorkerPid ? "worker"
                : pid == self ? "bench"
                : comm == "beam.smp" && (broker == 0 || pid == broker) ? "rabbitmq"
                : comm == "postgres" ? PostgresGroup(dir, scope.Database)
                : "other";
            seconds[group] = seconds.GetValueOrDefault(group) + cpu;
        }

        var machine = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture) / TicksPerSecond).ToArray();
        var idle = machine[3] + machine[4];
        var total = machine.Take(8).Sum();
        // The eighth value, steal: time the hypervisor ran something else while this machine had work to run.
        return new CpuSplit(seconds, total - idle, total, machine[7]);
    }

    /// <summary>Cores used by each group between <paramref name="before"/> and <paramref name="after"/>, and CPU milliseconds per event.</summary>
    /// <remarks>
    /// CPU per event is the figure that survives a busy machine. "other" is the machine's busy time less the named
    /// groups and the steal: whatever else ran meanwhile, including processes that started and ended in between. The
    /// steal (the hypervisor running another guest while this machine had work) counts as busy in /proc/stat; it is
    /// shown apart, since no process here spent it.
    /// </remarks>
    public static string Describe(CpuSplit before, CpuSplit after, double wallSeconds, int events)
    {
        double Used(string group) => after._seconds.GetValueOrDefault(group) - before._seconds.GetValueOrDefault(group);
        static string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
        var busy = (after._machineBusy - before._machineBusy) / (after._machineTotal - before._machineTotal) * Environment.ProcessorCount;
        var stolen = (after._machineStolen - before._machineStolen) / (after._machineTotal - before._machineTotal) * Environment.ProcessorCount;
        var postgres = Used("postgres") + Used("postgres-background");
        var known = (Used("worker") + Used("rabbitmq") + postgres + Used("bench")) / wallSeconds;
        return $"cores used: worker {F(Used("worker") / wallSeconds)}, rabbitmq {F(Used("rabbitmq") / wallSeconds)}, postgres {F(postgres / wallSeconds)}, " +
            $"bench {F(Used("bench") / wallSeconds)}, other {F(Math.Max(0, busy - known - stolen))}; machine busy {F(busy)} of {Environment.ProcessorCount}, of which stolen by the hypervisor {F(stolen)}; " +
            $"CPU ms per event: worker {F(Used("worker") * 1000 / events)}, rabbitmq {F(Used("rabbitmq") * 1000 / events)}, postgres {F(postgres * 1000 / events)} " +
            $"(of which the cluster's own processes, autovacuum included, {F(Used("postgres-background") * 1000 / events)})";
    }

    /// <summary>
    /// "postgres" for a backend of <paramref name="database"/> (its title names it), "postgres-background" for a process
    /// of the cluster itself (checkpointer, WAL writer, autovacuum: no client address in its title), "other" for
    /// backends of other databases.
    /// </summary>
    private static string PostgresGroup(string procDir, string? database)
    {
        if (TryRead(Path.Combine(procDir, "cmdline")) is not { } cmdline)
        {
            return "postgres";
        }

        // Backends are titled "postgres: 15/main: user database host(port) state"; background processes "postgres: 15/main: checkpointer".
        var title = cmdline.Replace('\0', ' ');
        if (!title.Contains('(', StringComparison.Ordinal))
        {
            return "postgres-background";
        }

        return database is null || title.Contains(" " + database + " ", StringComparison.Ordinal) ? "postgres" : "other";
    }

    /// <summary>The process listening on 127.0.0.1:<paramref name="port"/> (or any address), from /proc/net/tcp and the beam.smp processes' sockets.</summary>
    private static int? ListeningPid(int port)
    {
        var portHex = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 9 && parts[1].EndsWith(portHex, StringComparison.Ordinal) && parts[3] == "0A")
            {
                inodes.Add($"socket:[{parts[9]}]");
            }
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || TryRead(Path.Combine(dir, "comm"))?.Trim() != "beam.smp")
            {
                continue;
            }

            try
            {
                if (Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")).Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target)))
                {
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
