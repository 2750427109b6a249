using System.Net.Sockets;
using System.Text;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Issue 16: what the API does before it reads a body, and what every answer carries.</summary>
public sealed class RequestHardeningTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    [Fact]
    public async Task ChunkedBody_WithoutCredentials_401BeforeTheBodyIsRead()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Host.BaseAddress.Host, fixture.Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"POST /{project.P("events")} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        // The first 64 KiB of what would be a 3 MiB body; the rest is never sent.
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"));
        await stream.WriteAsync(chunk);
        await stream.WriteAsync("\r\n"u8.ToArray());
        await stream.FlushAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var status = await ReadStatusLineAsync(stream, timeout.Token);

        Assert.StartsWith("HTTP/1.1 401", status, StringComparison.Ordinal);
    }

    private static async Task<string> ReadStatusLineAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var received = new StringBuilder();
        var buffer = new byte[1024];
        while (!received.ToString().Contains("\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString().Split("\r\n")[0];
    }
}
