using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Actionflow.Storage.Conversions;

/// <summary>Every timestamp is UTC: SQLite hands back <see cref="DateTimeKind.Unspecified"/>, Npgsql refuses anything but UTC for timestamptz.</summary>
public sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(v => ToUtc(v), v => DateTime.SpecifyKind(v, DateTimeKind.Utc))
{
    public static DateTime ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };
}
