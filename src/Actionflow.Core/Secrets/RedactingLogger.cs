using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Secrets;

/// <summary>
/// The logger an action gets when its config revealed secrets: whatever it writes, the revealed values are masked
/// before the message reaches a provider. An exception is folded into the message (its text masked too), since a
/// provider would print the exception's own message, which may quote the value.
/// </summary>
internal sealed class RedactingLogger(ILogger inner, IReadOnlyCollection<string> revealed) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        var message = formatter(state, exception);
        if (exception is not null)
        {
            message += Environment.NewLine + exception;
        }

        inner.Log(logLevel, eventId, SecretRedactor.Redact(message, revealed) ?? "", null, static (text, _) => text);
    }
}
