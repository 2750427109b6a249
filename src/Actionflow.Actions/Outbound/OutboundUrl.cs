using System.Net;

namespace Actionflow.Actions.Outbound;

/// <summary>Which URLs an action may call, judged when its config is saved and again when it runs.</summary>
public static class OutboundUrl
{
    /// <summary>The setting that lets actions reach loopback and private networks (one for every action that calls out).</summary>
    public const string AllowSetting = "set Actionflow__Webhooks__AllowPrivateNetworks=true to allow it";

    /// <summary>
    /// Why <paramref name="url"/> cannot be called, or null. <paramref name="who"/> names the callers in the message
    /// ("webhooks", "actions"). Names are resolved (and every address vetted) when the request is made; literals and
    /// this machine's own names are judged here.
    /// </summary>
    public static string? Problem(string url, bool allowPrivateNetworks, string who = "actions")
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "must be an absolute http or https URL";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            // They would be echoed in outputs and reasons; credentials belong in headers, whose values are secret.
            return "must not contain credentials (user:password@); send them in headers, e.g. Authorization";
        }

        return HostProblem(uri.HostNameType, uri.Host, uri.IdnHost, allowPrivateNetworks, who);
    }

    /// <summary>Why a host (an SMTP server's, say) cannot be reached, or null: the same policy as for URLs.</summary>
    public static string? HostProblem(string host, bool allowPrivateNetworks, string who = "actions") =>
        Uri.CheckHostName(host) switch
        {
            UriHostNameType.Unknown => "is not a host name or IP address",
            var type => HostProblem(type, host, host, allowPrivateNetworks, who),
        };

    private static string? HostProblem(UriHostNameType type, string host, string idnHost, bool allowPrivateNetworks, string who)
    {
        if (allowPrivateNetworks)
        {
            return null;
        }

        if (type is UriHostNameType.IPv4 or UriHostNameType.IPv6
            && IPAddress.TryParse(host.Trim('[', ']'), out var address)
            && SpecialAddresses.Classify(address, []) is { } block)
        {
            return $"points at {address}, in {block}, which {who} may not reach; {AllowSetting}";
        }

        var name = idnHost.TrimEnd('.');
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            ? $"points at {name}, a name of this machine's loopback (RFC 6761), which {who} may not reach; {AllowSetting}"
            : null;
    }
}
