using Actionflow.Storage.Conversions;

namespace Actionflow.Storage.Stores;

internal static class UtcTime
{
    /// <summary>For raw SQL parameters, which bypass the model's converter: Npgsql wants UTC for timestamptz.</summary>
    public static DateTime Normalize(DateTime value) => UtcDateTimeConverter.ToUtc(value);
}
