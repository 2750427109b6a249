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
}
