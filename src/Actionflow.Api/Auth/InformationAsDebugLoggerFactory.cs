using Microsoft.Extensions.Logging;

namespace Actionflow.Api.Auth;

/// <summary>
/// Loggers for ASP.NET Core's authentication handler base class that write its Information lines at Debug: it logs
/// one or two per rejected request ("was not authenticated", "was challenged"), so a scan with bad credentials would
/// flood the logs. Rejections are counted in <c>actionflow.api.authentication_failures</c> instead.
/// </summary>
internal sealed class InformationAsDebugLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new DemotingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    // The wrapped factory belongs to the container.
    public void Dispose()
    {
    }

    private sealed class DemotingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(Demote(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = Demote(logLevel);
            inner.Log(level, eventId, state, exception, formatter);
        }

        private static LogLevel Demote(LogLevel level) => level == LogLevel.Information ? LogLevel.Debug : level;
    }
}
