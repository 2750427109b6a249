using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Actionflow.IntegrationTests;

/// <summary>Every [LoggerMessage] event id is unique, and inside its area's range (docs/architecture.md).</summary>
public sealed class LogEventIdTests
{
    private static readonly (string Assembly, int From, int To)[] Areas =
    [
        ("Actionflow.Core", 1000, 1099),
        ("Actionflow.Storage", 2000, 2099),
        ("Actionflow.EventHandlers", 2100, 2199),
        ("Actionflow.Api", 3000, 3099),
        ("Actionflow.Actions", 3100, 3199),
        ("Actionflow.Messaging", 4000, 4099),
    ];

    private static IEnumerable<(string Assembly, string Method, int Id)> EventIds() =>
        from area in Areas
        let assembly = Assembly.Load(area.Assembly)
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (area.Assembly, $"{type.Name}.{method.Name}", attribute.EventId);

    [Fact]
    public void LoggerMessages_AcrossAllModules_HaveUniqueEventIdsInTheirAreasRange()
    {
        var ids = EventIds().ToList();

        Assert.True(ids.Count > 60, $"found only {ids.Count} log messages: the scan is broken");
        Assert.Empty(ids.GroupBy(i => i.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(i => i.Method))}"));
        Assert.Empty(ids.Where(i => Areas.Single(a => a.Assembly == i.Assembly) is var area && (i.Id < area.From || i.Id > area.To))
            .Select(i => $"{i.Method} ({i.Assembly}) uses {i.Id}"));
    }
}
