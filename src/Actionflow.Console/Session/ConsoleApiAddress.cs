using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Actionflow.Console.Session;

/// <summary>The API's address as the console's server side reaches it: configured, or this process's own over loopback.</summary>
public sealed class ConsoleApiAddress(IServer server, ConsoleOptions options)
{
    public const string HttpClientName = "actionflow-console";

    private Uri? _address;

    public Uri Address => _address ??= options.ApiAddress ?? Own();

    private Uri Own()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var chosen = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has no address yet; set Actionflow__Console__ApiAddress.");
        var loopback = chosen.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://[::1]", StringComparison.Ordinal);
        return new Uri(loopback.TrimEnd('/') + "/");
    }
}
