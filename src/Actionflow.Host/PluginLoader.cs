using System.Reflection;
using System.Runtime.Loader;
using Actionflow.Sdk;

namespace Actionflow.Host;

/// <summary>Registers the action runners of plugin assemblies named in configuration (<c>Actionflow:Plugins</c>).</summary>
internal static class PluginLoader
{
    public static IReadOnlyList<Type> Load(IEnumerable<string> paths)
    {
        var runners = new List<Type>();
        foreach (var path in paths.Where(p => !string.IsNullOrWhiteSpace(p)))
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                throw new InvalidOperationException($"Plugin assembly '{full}' does not exist. Fix Actionflow__Plugins__N or remove it.");
            }

            Assembly assembly;
            try
            {
                assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
            }
            catch (BadImageFormatException ex)
            {
                throw new InvalidOperationException($"Plugin '{full}' is not a .NET assembly: {ex.Message}", ex);
            }

            var found = assembly.GetExportedTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ActionRunner).IsAssignableFrom(t))
                .ToList();
            if (found.Count == 0)
            {
                throw new InvalidOperationException($"Plugin '{full}' has no public ActionRunner class.");
            }

            runners.AddRange(found);
        }

        return runners;
    }
}
