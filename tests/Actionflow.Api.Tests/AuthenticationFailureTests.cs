using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Encodings.Web;
using Actionflow.Api.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Tests;

/// <summary>Issue 16, finding 7: a rejected credential is a Debug line and a count, never an Information line.</summary>
public sealed class AuthenticationFailureTests
{
    [Theory]
    [InlineData("Token abc", "unsupported_scheme")]
    [InlineData("Basic %%%", "malformed_basic")]
    [InlineData("Bearer ", "bad_secret")]
    public async Task AuthenticateAndChallenge_BadCredentials_DebugLinesOnly_CountedByReason(string authorization, string reason)
    {
        var logs = new RecordingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        await using var services = new ServiceCollection().AddProblemDetails().AddLogging().BuildServiceProvider();
        var handler = new ApiKeyAuthenticationHandler(
            new StaticOptions(), loggers, UrlEncoder.Default, keys: null!, new AdminToken(Options.Create(new ApiOptions())),
            services.GetRequiredService<IProblemDetailsService>());
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Headers.Authorization = authorization;
        http.Response.Body = new MemoryStream();
        using var counted = new FailureCounter();

        await handler.InitializeAsync(new AuthenticationScheme(ApiPrincipal.Scheme, null, typeof(ApiKeyAuthenticationHandler)), http);
        var result = await handler.AuthenticateAsync();
        await handler.ChallengeAsync(new AuthenticationProperties());

        Assert.NotNull(result.Failure);
        Assert.Equal(StatusCodes.Status401Unauthorized, http.Response.StatusCode);
        Assert.NotEmpty(logs.Entries);
        Assert.All(logs.Entries, e => Assert.True(e.Level <= LogLevel.Debug, $"{e.Level}: {e.Message}"));
        Assert.Equal([reason], counted.Reasons);
    }

    internal sealed class StaticOptions : IOptionsMonitor<AuthenticationSchemeOptions>
    {
        public AuthenticationSchemeOptions CurrentValue { get; } = new();

        public AuthenticationSchemeOptions Get(string? name) => CurrentValue;

        public IDisposable? OnChange(Action<AuthenticationSchemeOptions, string?> listener) => null;
    }

    /// <summary>Listens to <c>actionflow.api.authentication_failures</c> for the length of one test.</summary>
    private sealed class FailureCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<string> _reasons = new();
        // The test's own async flow: other tests of the assembly may fail authentications at the same time.
        private static readonly AsyncLocal<FailureCounter?> Owner = new();

        public FailureCounter()
        {
            Owner.Value = this;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Actionflow" && instrument.Name == "actionflow.api.authentication_failures")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                if (Owner.Value != this)
                {
                    return;
                }

                foreach (var tag in tags)
                {
                    if (tag.Key == "reason")
                    {
                        for (var i = 0; i < value; i++)
                        {
                            _reasons.Enqueue((string)tag.Value!);
                        }
                    }
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<string> Reasons => [.. _reasons];

        public void Dispose() => _listener.Dispose();
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

        public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

        public ILogger CreateLogger(string categoryName) => new Recorder(_entries);

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<(LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
