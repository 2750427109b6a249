using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Actionflow.Actions.Outbound;

namespace Actionflow.Actions.Webhook;

/// <summary>
/// Keeps webhooks off the server's own networks (SSRF): the connection is made to an address vetted here, after DNS
/// resolution, so a name that resolves differently on a second look (DNS rebinding) gains nothing. The policy itself
/// is <see cref="SpecialAddresses.Classify"/>.
/// </summary>
public static class WebhookNetworkGuard
{
    /// <summary>True for addresses a webhook must not reach unless private networks are allowed (see <see cref="SpecialAddresses"/>).</summary>
    public static bool IsPrivateOrReserved(IPAddress address) => SpecialAddresses.IsSpecial(address);

    /// <summary>The primary handler of the <c>actionflow-webhook</c> client: no redirects, no proxy, no cookies, vetted connects.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowPrivateNetworks, HostAddresses? hostAddresses = null)
    {
        var own = hostAddresses ?? new HostAddresses(TimeProvider.System);
        return new()
        {
            AllowAutoRedirect = false,
            // A proxy would be the only address vetted, and it would resolve the webhook's host itself.
            UseProxy = false,
            // One handler serves every workflow of every project: cookies set by one receiver must not reach another.
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowPrivateNetworks, own, cancellationToken),
        };
    }

    /// <summary>A TCP connection to the first vetted address of the host (also how the email action reaches an SMTP server).</summary>
    internal static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivateNetworks, HostAddresses hostAddresses, CancellationToken cancellationToken)
    {
        var host = endPoint.Host.TrimStart('[').TrimEnd(']');
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses;
        if (!allowPrivateNetworks)
        {
            var own = hostAddresses.Current;
            var refusals = addresses.Select(a => SpecialAddresses.Classify(a, own)).ToArray();
            allowed = addresses.Where((_, i) => refusals[i] is null).ToArray();
            if (allowed.Length == 0)
            {
                throw new WebhookAddressRefusedException(host, refusals.FirstOrDefault(r => r is not null) ?? SpecialAddresses.HostAddress);
            }
        }

        ExceptionDispatchInfo? lastError = null;
        foreach (var address in allowed)
        {
            var target = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(target, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                lastError = ExceptionDispatchInfo.Capture(ex);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        lastError!.Throw();
        throw new UnreachableException();
    }
}

/// <summary>Thrown from the connect callback when every address of a webhook's host is one it may not reach.</summary>
internal sealed class WebhookAddressRefusedException(string host, SpecialBlock block)
    : Exception($"{host} resolves to {block}, which webhooks may not reach")
{
    public string Host { get; } = host;

    public SpecialBlock Block { get; } = block;
}
