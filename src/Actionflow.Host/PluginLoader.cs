using System.Reflection;
using System.Runtime.Loader;
using Actionflow.Sdk;

namespace Actionflow.Host;

/// <summary>Registers the action runners of plugin assemblies named in configuration (<c>Actionflow:Plugins</c>).</summary>
internal static class PluginLoader
{
    /// <summary>Every public <c>ActionRunner</c> of the assemblies at <paramref name="paths"/> becomes an action.</summary>
    public static Actionflow.Core.ActionflowBuilder AddPlugins(this Actionflow.Core.ActionflowBuilder builder, IEnumerable<string> paths)
    {
        foreach (var runner in Load(paths))
        {
            builder.Services.AddActionRunner(runner);
        }

        return builder;
    }

    /// <summary>The host waits for the consumers to drain (<c>Actionflow__ShutdownGracePeriod</c>), and a little more, before it gives up.</summary>
    public static Actionflow.Core.ActionflowBuilder StopAfterDraining(this Actionflow.Core.ActionflowBuilder builder)
    {
        builder.Services.AddOptions<HostOptions>().Configure<Microsoft.Extensions.Options.IOptions<Actionflow.Messaging.MessagingOptions>>(
            (host, messaging) => host.ShutdownTimeout = messaging.Value.ShutdownGracePeriod + TimeSpan.FromSeconds(10));
        return builder;
    }

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
