using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MimeKit;

namespace Actionflow.Testing;

/// <summary>
/// A real SMTP server on 127.0.0.1 (Debian's python3-aiosmtpd running smtp_sink.py, on a free port) that keeps every
/// message it accepts; tests read what arrived: envelope, login and the parsed message.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private SmtpSink(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public static async Task<SmtpSink> StartAsync(string? user = null, string? password = null)
    {
        var folder = Directory.CreateTempSubdirectory("actionflow-smtp-").FullName;
        var port = FreePort();
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "smtp_sink.py"), port.ToString(System.Globalization.CultureInfo.InvariantCulture), folder })
        {
            psi.ArgumentList.Add(arg);
        }

        if (user is not null)
        {
            psi.ArgumentList.Add(user);
            psi.ArgumentList.Add(password ?? "");
        }

        var process = Process.Start(psi)!;
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(ready.Token);
        if (line != "listening")
        {
            var error = await process.StandardError.ReadToEndAsync(ready.Token);
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the SMTP sink did not start ({line}): {error}");
        }

        return new SmtpSink(process, folder, port);
    }

    /// <summary>Every message accepted so far, in order.</summary>
    public IReadOnlyList<ReceivedMail> Messages() =>
        [.. Directory.GetFiles(_folder, "*.json").Order(StringComparer.Ordinal).Select(f => ReceivedMail.Parse(File.ReadAllText(f)))];

    /// <summary>Waits until <paramref name="count"/> messages have arrived (or the time is up) and returns them.</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Messages() is var messages && messages.Count < count && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }

        return Messages();
    }

    public async ValueTask DisposeAsync()
    {
        // Closing its stdin stops the server; the kill is for one that does not stop.
        _process.StandardInput.Close();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A message as the SMTP server received it.</summary>
public sealed record ReceivedMail(string MailFrom, IReadOnlyList<string> RcptTos, string? Login, string Raw, MimeMessage Message)
{
    public static ReceivedMail Parse(string json)
    {
        var record = JsonNode.Parse(json)!;
        var raw = (string)record["data"]!;
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(raw));
        return new ReceivedMail(
            (string)record["mail_from"]!,
            [.. record["rcpt_tos"]!.AsArray().Select(n => (string)n!)],
            (string?)record["login"],
            raw,
            MimeMessage.Load(stream));
    }
}
