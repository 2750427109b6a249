using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Actionflow.Storage.Conversions;

/// <summary>Stores an enum as its snake_case name (<c>Succeeded</c> → <c>succeeded</c>), the words Diffgram's status columns use.</summary>
public sealed class LowercaseEnumConverter<TEnum>() : ValueConverter<TEnum, string>(v => EnumNames.ToDatabase(v), v => EnumNames.FromDatabase<TEnum>(v))
    where TEnum : struct, Enum;

public static class EnumNames
{
    public static string ToDatabase<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Cache<TEnum>.Names.TryGetValue(value, out var name)
            ? name
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a defined {typeof(TEnum).Name}");

    public static TEnum FromDatabase<TEnum>(string value)
        where TEnum : struct, Enum =>
        Cache<TEnum>.Values.TryGetValue(value, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"'{value}' is not a known {typeof(TEnum).Name}");

    private static class Cache<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly FrozenDictionary<TEnum, string> Names =
            Enum.GetValues<TEnum>().ToFrozenDictionary(v => v, v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()));

        public static readonly FrozenDictionary<string, TEnum> Values =
            Names.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.OrdinalIgnoreCase);
    }
}
