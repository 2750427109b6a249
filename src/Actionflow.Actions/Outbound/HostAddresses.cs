using System.Net;
using System.Net.NetworkInformation;

namespace Actionflow.Actions.Outbound;

/// <summary>
/// The machine's own interface addresses, for <see cref="SpecialAddresses.Classify"/>: a request to any of them reaches
/// every service listening on all interfaces here. Read again at most every 30 seconds (interfaces come and go).
/// </summary>
public sealed class HostAddresses(TimeProvider timeProvider)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);
    private volatile Snapshot? _snapshot;

    public IReadOnlyCollection<IPAddress> Current
    {
        get
        {
            var snapshot = _snapshot;
            if (snapshot is null || timeProvider.GetElapsedTime(snapshot.ReadAt) > Freshness)
            {
                _snapshot = snapshot = new Snapshot(Read() ?? snapshot?.Addresses ?? [], timeProvider.GetTimestamp());
            }

            return snapshot.Addresses;
        }
    }

    private static IPAddress[]? Read()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .ToArray();
        }
        catch (NetworkInformationException)
        {
            // Keep what was known: the special-purpose ranges are refused regardless.
            return null;
        }
    }

    private sealed record Snapshot(IReadOnlyCollection<IPAddress> Addresses, long ReadAt);
}
