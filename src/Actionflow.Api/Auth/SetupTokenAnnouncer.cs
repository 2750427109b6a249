using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actionflow.Api.Auth;

/// <summary>
/// Once the server listens, logs where the console is and, on a start without an admin token, the setup token to
/// sign in with: a new user finds both in the first screen of output.
/// </summary>
internal sealed class SetupTokenAnnouncer(IHostApplicationLifetime lifetime, IServer server, AdminToken adminToken, ILogger<SetupTokenAnnouncer> logger)
    : IHostedService
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = lifetime.ApplicationStarted.Register(Announce);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }

    private void Announce()
    {
        var address = ConsoleAddress(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        if (address is null)
        {
            return;
        }

        if (adminToken.SetupToken is { } token)
        {
            Log.SetupToken(logger, address, token);
        }
        else
        {
            Log.ConsoleAddress(logger, address);
        }
    }

    /// <summary>The first address a browser on this machine can open (wildcard hosts become localhost).</summary>
    internal static string? ConsoleAddress(ICollection<string> addresses)
    {
        var first = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault();
        if (first is null)
        {
            return null;
        }

        var uri = first.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://[::]", "://localhost", StringComparison.Ordinal);
        return uri.TrimEnd('/') + "/";
    }
}
