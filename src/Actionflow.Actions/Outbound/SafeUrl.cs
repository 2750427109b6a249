namespace Actionflow.Actions.Outbound;

/// <summary>
/// A URL as logs, run errors and outputs show it: scheme, host, port and path. The query, the fragment and the
/// user-info are left out: that is where tokens travel (<c>?access_token=...</c>).
/// </summary>
public static class SafeUrl
{
    public static string Display(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.IsAbsoluteUri ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(not an absolute URL)";
    }
}
