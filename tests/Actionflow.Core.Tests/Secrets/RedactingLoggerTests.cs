using Actionflow.Core.Secrets;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Tests.Secrets;

public sealed class RedactingLoggerTests
{
    private sealed class Capture(LogLevel minimum) : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Text, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId, formatter(state, exception), exception));
    }

    [Fact]
    public void Log_MessageAndExceptionQuoteARevealedValue_ProviderSeesTheMaskOnly()
    {
        var inner = new Capture(LogLevel.Debug);
        ILogger logger = new RedactingLogger(inner, ["s3cr3t-value"]);

        logger.LogDebug(new EventId(7, "Sent"), "sent with key {Key}", "s3cr3t-value");
        logger.LogWarning(new InvalidOperationException("rejected key s3cr3t-value"), "call failed");

        Assert.Collection(
            inner.Entries,
            e =>
            {
                Assert.Equal((LogLevel.Debug, 7), (e.Level, e.Id.Id));
                Assert.Equal($"sent with key {SecretRedactor.Mask}", e.Text);
            },
            e =>
            {
                Assert.Equal(LogLevel.Warning, e.Level);
                Assert.Null(e.Exception);
                Assert.StartsWith("call failed", e.Text, StringComparison.Ordinal);
                Assert.Contains($"rejected key {SecretRedactor.Mask}", e.Text, StringComparison.Ordinal);
            });
        Assert.All(inner.Entries, e => Assert.DoesNotContain("s3cr3t-value", e.Text, StringComparison.Ordinal));
    }

    [Fact]
    public void Log_LevelBelowTheProvidersMinimum_NotFormattedAtAll()
    {
        var inner = new Capture(LogLevel.Information);
        var logger = new RedactingLogger(inner, ["s3cr3t-value"]);
        var formatted = false;

        logger.Log(LogLevel.Debug, default, "state", null, (_, _) =>
        {
            formatted = true;
            return "x";
        });

        Assert.False(formatted);
        Assert.Empty(inner.Entries);
    }
}
