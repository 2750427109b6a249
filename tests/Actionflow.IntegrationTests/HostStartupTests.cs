using System.Text.Json;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests;

public sealed class HostStartupTests
{
    [Fact]
    public async Task StartedFromAnotherFolder_ReadsItsOwnSettingsFile_AndKeepsTheDataDirectoryInTheWorkingFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "actionflow-cwd-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            // No database setting: the embedded default, data/actionflow.db relative to where it was started.
            await using (var host = await ActionflowProcess.StartAsync(
                new Dictionary<string, string> { ["Actionflow__Database"] = "", ["Actionflow__Broker"] = "" },
                workingDirectory: folder))
            {
                await host.TerminateAsync(TimeSpan.FromSeconds(40));

                Assert.True(File.Exists(Path.Combine(folder, "data", "actionflow.db")), "the embedded database belongs under the working folder");
                // appsettings.json sets Microsoft.EntityFrameworkCore to Warning; without it every SQL statement is logged.
                Assert.Contains("Application started", host.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("Executed DbCommand", host.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ShippedRuntimeSettings_WorkstationGc_AndNoThreadPoolSpin()
    {
        // What the runtime reads at start: a build, `dotnet run` and a publish all carry this file next to actionflow.dll.
        var path = Path.ChangeExtension(TestEnvironment.HostAssembly, ".runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
        // The SDK writes a RuntimeHostConfigurationOption's value as a string or a number depending on how it parses.
        var spin = properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit");
        Assert.Equal("0", spin.ValueKind == JsonValueKind.String ? spin.GetString() : spin.GetRawText());
    }
}
