using System.Globalization;
using System.Text;

namespace Actionflow.Bench;

/// <summary>
/// The group commits' batch sizes over a phase (the worker's <c>actionflow.group_commit.*</c> counters, read by
/// <see cref="AllocationMeter"/>): per commit, transactions by size and the items they held. Counts, so they do not
/// depend on the machine's load the way rates do (although how many callers meet in a batch does).
/// </summary>
internal static class GroupCommitHistogram
{
    private static readonly string[] Sizes = ["1", "2", "3-4", "5-8", "9-16", "17-32", "33-64", "65-128", "129-256", "257+"];

    public static string Describe(
        IReadOnlyDictionary<(string Instrument, string Tags), long> before,
        IReadOnlyDictionary<(string Instrument, string Tags), long> after,
        int events)
    {
        var batches = new Dictionary<(string Commit, string Size), long>();
        var items = new Dictionary<(string Commit, string Size), long>();
        foreach (var ((instrument, tags), value) in after)
        {
            var grown = value - before.GetValueOrDefault((instrument, tags));
            if (grown <= 0)
            {
                continue;
            }

            var key = (Tag(tags, "commit"), Tag(tags, "size"));
            var target = instrument.EndsWith(".batches", StringComparison.Ordinal) ? batches : items;
            target[key] = target.GetValueOrDefault(key) + grown;
        }

        if (batches.Count == 0)
        {
            return "no group commit flushed (or its counters could not be read)";
        }

        var text = new StringBuilder();
        var transactions = 0L;
        foreach (var commit in batches.Keys.Select(k => k.Commit).Distinct().Order(StringComparer.Ordinal))
        {
            var commitBatches = batches.Where(b => b.Key.Commit == commit).Sum(b => b.Value);
            var commitItems = items.Where(b => b.Key.Commit == commit).Sum(b => b.Value);
            transactions += commitBatches;
            text.Append(CultureInfo.InvariantCulture, $"\n  {commit}: {commitBatches} transactions, {commitItems} items ({(double)commitItems / Math.Max(commitBatches, 1):F2} per transaction, {(double)commitBatches / Math.Max(events, 1):F3} per event); size: transactions (items)");
            foreach (var size in Sizes)
            {
                if (batches.GetValueOrDefault((commit, size)) is > 0 and var count)
                {
                    text.Append(CultureInfo.InvariantCulture, $" {size}: {count} ({items.GetValueOrDefault((commit, size))})");
                }
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"group commit transactions per event {(double)transactions / Math.Max(events, 1):F3}:") + text;
    }

    private static string Tag(string tags, string name)
    {
        foreach (var part in tags.Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part.AsSpan(0, eq).Trim().SequenceEqual(name))
            {
                return part[(eq + 1)..].Trim();
            }
        }

        return "?";
    }
}
