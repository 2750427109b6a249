namespace Actionflow.Console.Tests.Infrastructure;

public static class Paths
{
    public static string RepositoryRoot { get; } = FindRoot();

    private static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string HostAssembly => Path.Combine(RepositoryRoot, "src", "Actionflow.Host", "bin", Configuration, "net10.0", "actionflow.dll");

    /// <summary>artifacts/screenshots at the repository root: where the tests leave a picture of every main screen.</summary>
    public static string Screenshots { get; } = Directory.CreateDirectory(Path.Combine(RepositoryRoot, "artifacts", "screenshots")).FullName;

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Actionflow.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Actionflow.slnx) not found");
    }
}
