using Actionflow.Core.Secrets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Actionflow.IntegrationTests.Infrastructure;

public static class TestSecrets
{
    /// <summary>The key ring of a worker started with <paramref name="key"/> (default: the pipelines' <see cref="Pipeline.SecretsKey"/>).</summary>
    public static SecretKeyRing Ring(string? key = null, string? previous = null) =>
        new(new SecretKeySettings { Key = key ?? Pipeline.SecretsKey, PreviousKeys = previous }, NullLogger<SecretKeyRing>.Instance);

    /// <summary>Every occurrence of <paramref name="value"/> in <paramref name="file"/>'s bytes (UTF-8), for database files.</summary>
    public static bool FileContains(string file, string value)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray().AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(value)) >= 0;
    }

    /// <summary>A plain-text <c>pg_dump</c> of the database (schema and data, every table).</summary>
    public static async Task<string> PgDumpAsync(string connectionString)
    {
        var b = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var psi = new System.Diagnostics.ProcessStartInfo("pg_dump")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-h", b.Host!, "-p", b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", b.Username!, "-d", b.Database! })
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["PGPASSWORD"] = b.Password;
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "pg_dump failed: " + await error);
        var dump = await output;
        Assert.Contains("CREATE TABLE public.secrets", dump, StringComparison.Ordinal);
        return dump;
    }
}
