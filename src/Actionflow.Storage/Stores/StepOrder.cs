namespace Actionflow.Storage.Stores;

/// <summary>Order of the non-archived steps of one workflow, by ordinal.</summary>
internal static class StepOrder
{
    /// <summary>The step with the greatest ordinal below <paramref name="ordinal"/> (lowest id on a tie), or null.</summary>
    public static long? Previous(IEnumerable<(long Id, int Ordinal)> steps, int ordinal)
    {
        long? previous = null;
        var best = int.MinValue;
        foreach (var (id, stepOrdinal) in steps)
        {
            if (stepOrdinal < ordinal && (previous is null || stepOrdinal > best || (stepOrdinal == best && id < previous)))
            {
                previous = id;
                best = stepOrdinal;
            }
        }

        return previous;
    }

    public static bool HasNext(IEnumerable<(long Id, int Ordinal)> steps, int ordinal) => steps.Any(s => s.Ordinal > ordinal);
}
