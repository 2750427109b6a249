using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace Actionflow.Actions.Webhook;

/// <summary>
/// Keeps webhooks off the server's own networks (SSRF): the connection is made to an address vetted here,
/// after DNS resolution, so a name that resolves differently on a second look (DNS rebinding) gains nothing.
/// </summary>
public static class WebhookNetworkGuard
{
    /// <summary>
    /// True for addresses a webhook must not reach unless private networks are allowed: unspecified, loopback,
    /// private (10/8, 172.16/12, 192.168/16), shared (100.64/10), link-local, unique-local, site-local, multicast,
    /// reserved and broadcast, including IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
    /// </summary>
    public static bool IsPrivateOrReserved(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var length))
        {
            return true;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => IsPrivateOrReservedV4(bytes[..length]),
            AddressFamily.InterNetworkV6 => IsPrivateOrReservedV6(bytes[..length]),
            _ => true,
        };
    }

    /// <summary>The primary handler of the <c>actionflow-webhook</c> client: no redirects, no proxy, no cookies, vetted connects.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowPrivateNetworks) => new()
    {
        AllowAutoRedirect = false,
        // A proxy would be the only address vetted, and it would resolve the webhook's host itself.
        UseProxy = false,
        // One handler serves every workflow of every project: cookies set by one receiver must not reach another.
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowPrivateNetworks, cancellationToken),
    };

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivateNetworks, CancellationToken cancellationToken)
    {
        var host = endPoint.Host.TrimStart('[').TrimEnd(']');
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = allowPrivateNetworks ? addresses : Array.FindAll(addresses, a => !IsPrivateOrReserved(a));
        if (allowed.Length == 0)
        {
            throw new WebhookAddressRefusedException(host);
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

    private static bool IsPrivateOrReservedV4(ReadOnlySpan<byte> b) =>
        b[0] == 0                                   // "this network", including 0.0.0.0
        || b[0] == 10                               // private
        || b[0] == 127                              // loopback
        || (b[0] == 100 && (b[1] & 0xC0) == 64)     // shared address space (carrier-grade NAT)
        || (b[0] == 169 && b[1] == 254)             // link-local, including cloud metadata endpoints
        || (b[0] == 172 && (b[1] & 0xF0) == 16)     // private
        || (b[0] == 192 && b[1] == 168)             // private
        || b[0] >= 224;                             // multicast, reserved, broadcast

    private static bool IsPrivateOrReservedV6(ReadOnlySpan<byte> b)
    {
        if (b[..12].IndexOfAnyExcept((byte)0) < 0)
        {
            // ::, ::1 and the deprecated IPv4-compatible form ::a.b.c.d
            return IsPrivateOrReservedV4(b[12..]);
        }

        return b[0] == 0xFF                                             // multicast
            || (b[0] & 0xFE) == 0xFC                                    // unique-local fc00::/7
            || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80)                  // link-local fe80::/10
            || (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0)                  // site-local fec0::/10 (deprecated)
            || (IsNat64(b) && IsPrivateOrReservedV4(b[12..]))           // 64:ff9b::/96
            || (b[0] == 0x20 && b[1] == 0x02 && IsPrivateOrReservedV4(b[2..6])); // 6to4 2002::/16
    }

    private static bool IsNat64(ReadOnlySpan<byte> b) =>
        b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4..12].IndexOfAnyExcept((byte)0) < 0;
}

/// <summary>Thrown from the connect callback when every address of a webhook's host is private or reserved.</summary>
internal sealed class WebhookAddressRefusedException(string host)
    : Exception($"{host} resolves to a private or loopback address")
{
    public string Host { get; } = host;
}
