using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.Infrastructure;

public sealed class XunitLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    private readonly DateTime _start = DateTime.UtcNow;

    public ILogger CreateLogger(string categoryName) => new XunitLogger(output, categoryName[(categoryName.LastIndexOf('.') + 1)..], _start);

    public void Dispose()
    {
    }

    private sealed class XunitLogger(ITestOutputHelper output, string category, DateTime start) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                var elapsed = (DateTime.UtcNow - start).TotalSeconds;
                output.WriteLine($"{elapsed,7:0.000}s {logLevel,-11} {category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}
