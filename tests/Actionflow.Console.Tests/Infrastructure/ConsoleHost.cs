using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Actionflow.Client;

namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>
/// The actionflow executable as a new user starts it: no admin token configured, so it logs a setup token with the
/// console's address. Embedded (SQLite, in-process transport) unless <paramref name="environment"/> says otherwise.
/// </summary>
public sealed partial class ConsoleHost : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string _directory;

    private ConsoleHost(Process process, Uri baseAddress, string directory)
    {
        _process = process;
        BaseAddress = baseAddress;
        _directory = directory;
    }

    public Uri BaseAddress { get; }

    public string Output => string.Join('\n', _output);

    /// <summary>The setup token, read from the log line that also names the console's address.</summary>
    public string SetupToken { get; private set; } = "";

    /// <summary>The console's address as the log line gives it.</summary>
    public string LoggedConsoleUrl { get; private set; } = "";

    public static async Task<ConsoleHost> StartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var directory = Directory.CreateTempSubdirectory("af-console-").FullName;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        psi.ArgumentList.Add(Paths.HostAssembly);
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        psi.Environment["Actionflow__Webhooks__AllowPrivateNetworks"] = "true";
        psi.Environment["Actionflow__DataDirectory"] = Path.Combine(directory, "data");
        psi.Environment.Remove("Actionflow__AdminToken");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start actionflow");
        var host = new ConsoleHost(process, new Uri($"http://127.0.0.1:{port}/"), directory);
        process.OutputDataReceived += (_, e) => host.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => host.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        return host;
    }

    /// <summary>A typed client signed in with the setup token (for setup the test is not about).</summary>
    public ActionflowClient AdminClient() => Client(new ActionflowCredentials(null, SetupToken));

    public ActionflowClient Client(ActionflowCredentials credentials) => new(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, credentials);

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"actionflow exited with {_process.ExitCode} before it was ready:\n{Output}");
            }

            var match = _output.Select(l => SetupLine().Match(l)).FirstOrDefault(m => m.Success);
            if (match is not null)
            {
                try
                {
                    using var response = await Http.GetAsync(new Uri(BaseAddress, "health/ready"));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        LoggedConsoleUrl = match.Groups["url"].Value;
                        SetupToken = match.Groups["token"].Value;
                        return;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"actionflow was not ready (or logged no setup token) within {timeout}:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"Actionflow console: (?<url>http\S+) - .*setup token: (?<token>afsetup_[A-Za-z0-9_-]+)")]
    private static partial Regex SetupLine();
}
