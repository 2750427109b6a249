using System.Net;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Webhook;

namespace Actionflow.Actions.Tests;

/// <summary>
/// The address classification over every block of IANA's IPv4 and IPv6 special-purpose registries (first and last
/// address of each, and the neighbours just outside), the IPv4 forms embedded in IPv6, and multicast. Offline: no
/// address here is ever connected to.
/// </summary>
public sealed class SpecialAddressesTests
{
    /// <summary>Address, and the most specific block that refuses it.</summary>
    public static TheoryData<string, string> Refused => new()
    {
        // IPv4 special-purpose registry
        { "0.0.0.0", "0.0.0.0/8" },
        { "0.255.255.255", "0.0.0.0/8" },
        { "10.0.0.0", "10.0.0.0/8" },
        { "10.255.255.255", "10.0.0.0/8" },
        { "100.64.0.0", "100.64.0.0/10" },
        { "100.127.255.255", "100.64.0.0/10" },
        { "127.0.0.1", "127.0.0.0/8" },
        { "127.255.255.255", "127.0.0.0/8" },
        { "169.254.0.0", "169.254.0.0/16" },
        { "169.254.169.254", "169.254.0.0/16" },
        { "169.254.255.255", "169.254.0.0/16" },
        { "172.16.0.0", "172.16.0.0/12" },
        { "172.31.255.255", "172.16.0.0/12" },
        { "192.0.0.0", "192.0.0.0/24" },
        { "192.0.0.8", "192.0.0.0/24" },
        { "192.0.0.9", "192.0.0.0/24" },
        { "192.0.0.10", "192.0.0.0/24" },
        { "192.0.0.170", "192.0.0.0/24" },
        { "192.0.0.171", "192.0.0.0/24" },
        { "192.0.0.255", "192.0.0.0/24" },
        { "192.0.2.0", "192.0.2.0/24" },
        { "192.0.2.2", "192.0.2.0/24" },
        { "192.0.2.255", "192.0.2.0/24" },
        { "192.31.196.0", "192.31.196.0/24" },
        { "192.31.196.255", "192.31.196.0/24" },
        { "192.52.193.0", "192.52.193.0/24" },
        { "192.52.193.255", "192.52.193.0/24" },
        { "192.88.99.0", "192.88.99.0/24" },
        { "192.88.99.2", "192.88.99.0/24" },
        { "192.88.99.255", "192.88.99.0/24" },
        { "192.168.0.0", "192.168.0.0/16" },
        { "192.168.255.255", "192.168.0.0/16" },
        { "192.175.48.0", "192.175.48.0/24" },
        { "192.175.48.255", "192.175.48.0/24" },
        { "198.18.0.0", "198.18.0.0/15" },
        { "198.19.255.255", "198.18.0.0/15" },
        { "198.51.100.0", "198.51.100.0/24" },
        { "198.51.100.255", "198.51.100.0/24" },
        { "203.0.113.0", "203.0.113.0/24" },
        { "203.0.113.255", "203.0.113.0/24" },
        { "240.0.0.0", "240.0.0.0/4" },
        { "255.255.255.254", "240.0.0.0/4" },
        { "255.255.255.255", "255.255.255.255/32" },
        // IPv4 multicast registry
        { "224.0.0.0", "224.0.0.0/4" },
        { "239.255.255.255", "224.0.0.0/4" },

        // IPv6 special-purpose registry
        { "::", "::/128" },
        { "::1", "::1/128" },
        { "64:ff9b:1::", "64:ff9b:1::/48" },
        { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48" },
        { "100::", "100::/64" },
        { "100::ffff:ffff:ffff:ffff", "100::/64" },
        { "100:0:0:1::", "100:0:0:1::/64" },
        { "100:0:0:1:ffff:ffff:ffff:ffff", "100:0:0:1::/64" },
        { "2001::", "2001::/32" },
        { "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/32" },
        { "2001:1::1", "2001:1::1/128" },
        { "2001:1::2", "2001:1::2/128" },
        { "2001:1::3", "2001:1::3/128" },
        { "2001:1::4", "2001::/23" },
        { "2001:2::", "2001:2::/48" },
        { "2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:2::/48" },
        { "2001:3::", "2001:3::/32" },
        { "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "2001:3::/32" },
        { "2001:4:112::", "2001:4:112::/48" },
        { "2001:4:112:ffff:ffff:ffff:ffff:ffff", "2001:4:112::/48" },
        { "2001:10::", "2001:10::/28" },
        { "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:10::/28" },
        { "2001:20::", "2001:20::/28" },
        { "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:20::/28" },
        { "2001:30::", "2001:30::/28" },
        { "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:30::/28" },
        { "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23" },
        { "2001:db8::", "2001:db8::/32" },
        { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32" },
        { "2002::", "2002::/16" },
        { "2002:808:808::1", "2002::/16" },
        { "2002:7f00:1::1", "2002::/16" },
        { "2620:4f:8000::", "2620:4f:8000::/48" },
        { "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "2620:4f:8000::/48" },
        { "3fff::", "3fff::/20" },
        { "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff::/20" },
        { "5f00::", "5f00::/16" },
        { "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f00::/16" },
        { "fc00::", "fc00::/7" },
        { "fd00::2", "fc00::/7" },
        { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7" },
        { "fe80::", "fe80::/10" },
        { "fe80::1%2", "fe80::/10" },
        { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10" },
        // IPv6 address space registry: deprecated site-local, multicast, and everything outside global unicast
        { "fec0::1", "fec0::/10" },
        { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::/10" },
        { "ff02::1", "ff00::/8" },
        { "ff0e::1", "ff00::/8" },
        { "fe00::1", "not 2000::/3" },
        { "4000::1", "not 2000::/3" },
        { "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "not 2000::/3" },
        { "100:0:0:2::", "not 2000::/3" },
        { "0:0:0:1::1", "not 2000::/3" },
        { "64:ff9b:0:0:1::1", "not 2000::/3" },

        // IPv4 embedded in IPv6: mapped and NAT64 addresses are judged by their IPv4 address
        { "::ffff:127.0.0.1", "127.0.0.0/8" },
        { "::ffff:10.0.0.1", "10.0.0.0/8" },
        { "::ffff:169.254.169.254", "169.254.0.0/16" },
        { "::ffff:192.0.2.2", "192.0.2.0/24" },
        { "::ffff:0.0.0.0", "0.0.0.0/8" },
        { "64:ff9b::7f00:1", "127.0.0.0/8" },
        { "64:ff9b::a00:1", "10.0.0.0/8" },
        { "64:ff9b::c000:202", "192.0.2.0/24" },
        // ...while the deprecated compatible form and SIIT's translated form are never connected to
        { "::127.0.0.1", "::/96" },
        { "::8.8.8.8", "::/96" },
        { "::2", "::/96" },
        { "::ffff:0:7f00:1", "::ffff:0:0:0/96" },
        { "::ffff:0:808:808", "::ffff:0:0:0/96" },
    };

    public static TheoryData<string> Public => new()
    {
        "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "191.255.255.255", "192.0.1.0", "192.0.3.0",
        "192.31.195.255", "192.31.197.0", "192.52.192.255", "192.52.194.0", "192.88.98.255", "192.88.100.0",
        "192.167.255.255", "192.169.0.0", "192.175.47.255", "192.175.49.0", "198.17.255.255", "198.20.0.0",
        "198.51.99.255", "198.51.101.0", "203.0.112.255", "203.0.114.0", "223.255.255.255",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "2001:200::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
        "2003::1", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", "2620:4f:8001::", "3fff:1000::", "2000::",
        "::ffff:8.8.8.8", "64:ff9b::808:808",
    };

    /// <summary>The machine's own addresses, as the host would pass them (public ones here, so only that rule refuses them).</summary>
    private static readonly IPAddress[] Own = [IPAddress.Parse("34.120.5.6"), IPAddress.Parse("2600:1f18::5"), IPAddress.Parse("192.0.2.2")];

    [Theory]
    [MemberData(nameof(Refused))]
    public void Classify_SpecialPurposeAddress_RefusedByItsBlock(string address, string block)
    {
        Assert.Equal(block, SpecialAddresses.Classify(IPAddress.Parse(address), [])?.Prefix);
        Assert.Equal(block, SpecialAddresses.Classify(IPAddress.Parse(address), Own)?.Prefix);
        Assert.True(WebhookNetworkGuard.IsPrivateOrReserved(IPAddress.Parse(address)), $"{address} is in {block}");
    }

    [Theory]
    [MemberData(nameof(Public))]
    public void Classify_GlobalUnicastAddress_Allowed(string address)
    {
        Assert.Null(SpecialAddresses.Classify(IPAddress.Parse(address), Own));
        Assert.False(WebhookNetworkGuard.IsPrivateOrReserved(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("34.120.5.6")]
    [InlineData("::ffff:34.120.5.6")]
    [InlineData("64:ff9b::2278:506")]
    [InlineData("2600:1f18::5")]
    [InlineData("2600:1f18::5%3")]
    public void Classify_AnAddressOfThisMachine_Refused(string address)
    {
        Assert.Same(SpecialAddresses.HostAddress, SpecialAddresses.Classify(IPAddress.Parse(address), Own));
        Assert.Null(SpecialAddresses.Classify(IPAddress.Parse(address), []));
    }

    [Theory]
    [InlineData("34.120.5.7")]
    [InlineData("2600:1f18::6")]
    public void Classify_NeighbourOfThisMachine_Allowed(string address)
    {
        Assert.Null(SpecialAddresses.Classify(IPAddress.Parse(address), Own));
    }

    [Fact]
    public void Classify_OwnAddressGivenInMappedForm_StillMatches()
    {
        Assert.Same(SpecialAddresses.HostAddress, SpecialAddresses.Classify(IPAddress.Parse("34.120.5.6"), [IPAddress.Parse("::ffff:34.120.5.6")]));
    }

    [Fact]
    public async Task ExecuteAsync_ThisMachinesInterfaceAddress_RefusedBeforeConnecting()
    {
        // The probe's case: the machine's own name resolved to its non-loopback interface, where anything listening
        // on all interfaces would have answered.
        var own = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address)
            .First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var services = TestHelpers.CreateServices(allowPrivateNetworks: false);
        using var client = new HttpClient(WebhookNetworkGuard.CreateHandler(allowPrivateNetworks: false, new HostAddresses(TimeProvider.System)));

        var result = await services.Webhook().ExecuteAsync(
            TestHelpers.Context(new WebhookConfig { Url = $"http://{own}:{port}/hook" }), CancellationToken.None);
        var atConnect = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri($"http://{own}:{port}/hook")));

        Assert.False(result.Succeeded);
        Assert.False(result.IsRetryable);
        Assert.Contains("which webhooks may not reach", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains("which webhooks may not reach", atConnect.InnerException?.Message ?? atConnect.Message, StringComparison.Ordinal);
        Assert.False(listener.Pending(), "the refusal comes before any connection");
    }

    [Fact]
    public async Task Handler_NameThatResolvesToLoopback_RefusedAtConnect()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new HttpClient(WebhookNetworkGuard.CreateHandler(allowPrivateNetworks: false));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri($"http://localhost:{port}/hook")));

        Assert.Contains("localhost resolves to Loopback", refused.InnerException?.Message ?? refused.Message, StringComparison.Ordinal);
        Assert.False(listener.Pending());
    }

    [Fact]
    public void HostAddresses_Current_HoldsEveryInterfaceAddressOfThisMachine()
    {
        var expected = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address).ToList();

        var current = new HostAddresses(TimeProvider.System).Current;

        Assert.NotEmpty(expected);
        Assert.All(expected, a => Assert.Contains(a, current));
    }
}
