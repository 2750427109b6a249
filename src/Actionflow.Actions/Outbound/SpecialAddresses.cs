using System.Net;
using System.Net.Sockets;

namespace Actionflow.Actions.Outbound;

/// <summary>A block of addresses outgoing requests of actions do not reach, with the name its registry gives it.</summary>
public sealed record SpecialBlock(string Prefix, string Name)
{
    public override string ToString() => Prefix.Contains('/', StringComparison.Ordinal) ? $"{Name} ({Prefix})" : Name;
}

/// <summary>
/// Which addresses an action's outgoing request may connect to (the SSRF policy), as a pure function: every block of
/// IANA's IPv4 and IPv6 special-purpose address registries, IPv4 multicast, IPv6 multicast, site-local and anything
/// outside global unicast (2000::/3), and the machine's own addresses, which are passed in so the decision needs
/// no network. IPv4-mapped (<c>::ffff:a.b.c.d</c>) and NAT64 (<c>64:ff9b::/96</c>) addresses reach an IPv4 address
/// and are judged by it; the deprecated IPv4-compatible form and SIIT's translated form are refused outright.
/// </summary>
public static class SpecialAddresses
{
    /// <summary>What an address of the machine itself is refused as.</summary>
    public static SpecialBlock HostAddress { get; } = new("this host", "an address of this machine");

    private static readonly SpecialBlock OutsideGlobalUnicast = new("not 2000::/3", "Reserved by IETF, outside global unicast");

    // Most specific first: the first block that contains an address names it.
    private static readonly Block[] V4 =
    [
        new("0.0.0.0/8", "This network"),
        new("10.0.0.0/8", "Private-Use"),
        new("100.64.0.0/10", "Shared Address Space"),
        new("127.0.0.0/8", "Loopback"),
        new("169.254.0.0/16", "Link Local"),
        new("172.16.0.0/12", "Private-Use"),
        new("192.0.0.0/24", "IETF Protocol Assignments"),
        new("192.0.2.0/24", "Documentation, TEST-NET-1"),
        new("192.31.196.0/24", "AS112-v4"),
        new("192.52.193.0/24", "AMT"),
        new("192.88.99.0/24", "6to4 Relay Anycast, deprecated"),
        new("192.168.0.0/16", "Private-Use"),
        new("192.175.48.0/24", "Direct Delegation AS112 Service"),
        new("198.18.0.0/15", "Benchmarking"),
        new("198.51.100.0/24", "Documentation, TEST-NET-2"),
        new("203.0.113.0/24", "Documentation, TEST-NET-3"),
        new("224.0.0.0/4", "Multicast"),
        new("255.255.255.255/32", "Limited Broadcast"),
        new("240.0.0.0/4", "Reserved"),
    ];

    private static readonly Block[] V6 =
    [
        new("::/128", "Unspecified Address"),
        new("::1/128", "Loopback Address"),
        new("::ffff:0:0:0/96", "IPv4-translated Address, SIIT"),
        new("::/96", "IPv4-compatible Address, deprecated"),
        new("64:ff9b:1::/48", "IPv4-IPv6 Translation, local use"),
        new("100::/64", "Discard-Only Address Block"),
        new("100:0:0:1::/64", "Dummy IPv6 Prefix"),
        new("2001:1::1/128", "Port Control Protocol Anycast"),
        new("2001:1::2/128", "Traversal Using Relays around NAT Anycast"),
        new("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast"),
        new("2001::/32", "TEREDO"),
        new("2001:2::/48", "Benchmarking"),
        new("2001:3::/32", "AMT"),
        new("2001:4:112::/48", "AS112-v6"),
        new("2001:10::/28", "ORCHID, deprecated"),
        new("2001:20::/28", "ORCHIDv2"),
        new("2001:30::/28", "Drone Remote ID Protocol Entity Tags"),
        new("2001::/23", "IETF Protocol Assignments"),
        new("2001:db8::/32", "Documentation"),
        new("2002::/16", "6to4"),
        new("2620:4f:8000::/48", "Direct Delegation AS112 Service"),
        new("3fff::/20", "Documentation"),
        new("5f00::/16", "Segment Routing SRv6 SIDs"),
        new("fc00::/7", "Unique-Local"),
        new("fe80::/10", "Link-Local Unicast"),
        new("fec0::/10", "Site-Local, deprecated"),
        new("ff00::/8", "Multicast"),
    ];

    private static readonly Block GlobalUnicast = new("2000::/3", "Global Unicast");
    private static readonly Block Nat64 = new("64:ff9b::/96", "IPv4-IPv6 Translation");

    /// <summary>
    /// The block that forbids connecting to <paramref name="address"/>, or null when it is an ordinary public address.
    /// <paramref name="hostAddresses"/> are the machine's own interface addresses: any service listening on all
    /// interfaces there would answer.
    /// </summary>
    public static SpecialBlock? Classify(IPAddress address, IReadOnlyCollection<IPAddress> hostAddresses)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(hostAddresses);
        var target = EffectiveTarget(address);
        if (target.AddressFamily == AddressFamily.InterNetwork)
        {
            var block = Array.Find(V4, b => b.Contains(target));
            if (block is not null)
            {
                return block.Info;
            }
        }
        else if (target.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var block = Array.Find(V6, b => b.Contains(target));
            if (block is not null)
            {
                return block.Info;
            }

            if (!GlobalUnicast.Contains(target))
            {
                return OutsideGlobalUnicast;
            }
        }
        else
        {
            return OutsideGlobalUnicast;
        }

        return hostAddresses.Any(own => SameAddress(EffectiveTarget(own), target)) ? HostAddress : null;
    }

    /// <summary>True when <see cref="Classify"/> refuses the address, not counting the machine's own addresses.</summary>
    public static bool IsSpecial(IPAddress address) => Classify(address, []) is not null;

    /// <summary>The IPv4 address a mapped or NAT64 address reaches; any other address itself.</summary>
    private static IPAddress EffectiveTarget(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && Nat64.Contains(address))
        {
            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out _);
            return new IPAddress(bytes[12..]);
        }

        return address;
    }

    private static bool SameAddress(IPAddress a, IPAddress b)
    {
        if (a.AddressFamily != b.AddressFamily)
        {
            return false;
        }

        // Scope ids differ by interface; the address is what a connection reaches.
        Span<byte> left = stackalloc byte[16];
        Span<byte> right = stackalloc byte[16];
        return a.TryWriteBytes(left, out var l) && b.TryWriteBytes(right, out var r) && left[..l].SequenceEqual(right[..r]);
    }

    private sealed class Block
    {
        private readonly byte[] _network;
        private readonly int _prefixLength;

        public Block(string prefix, string name)
        {
            var slash = prefix.IndexOf('/', StringComparison.Ordinal);
            _network = IPAddress.Parse(prefix[..slash]).GetAddressBytes();
            _prefixLength = int.Parse(prefix[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            Info = new SpecialBlock(prefix, name);
        }

        public SpecialBlock Info { get; }

        public bool Contains(IPAddress address)
        {
            Span<byte> bytes = stackalloc byte[16];
            if (!address.TryWriteBytes(bytes, out var length) || length != _network.Length)
            {
                return false;
            }

            var full = _prefixLength / 8;
            if (!bytes[..full].SequenceEqual(_network.AsSpan(0, full)))
            {
                return false;
            }

            var rest = _prefixLength % 8;
            if (rest == 0)
            {
                return true;
            }

            var mask = (byte)(0xFF << (8 - rest));
            return (bytes[full] & mask) == (_network[full] & mask);
        }
    }
}
