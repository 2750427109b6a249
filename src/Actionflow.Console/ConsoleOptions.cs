namespace Actionflow.Console;

/// <summary>Settings of the web console (section <c>Actionflow:Console</c>).</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Actionflow:Console";

    /// <summary>Serve the console at <c>/</c> (<c>Actionflow__Console__Enabled=false</c> for an API-only process).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Where the console's server side reaches the API (<c>Actionflow__Console__ApiAddress</c>). Empty: this process's
    /// own first HTTP address, over loopback.
    /// </summary>
    public Uri? ApiAddress { get; set; }

    /// <summary>
    /// Where the Data Protection keys that encrypt a tab's remembered sign-in are kept (<c>Actionflow__Console__KeysDirectory</c>).
    /// Empty: <c>console-keys</c> under the data directory. Processes behind one address share this folder.
    /// </summary>
    public string? KeysDirectory { get; set; }
}
