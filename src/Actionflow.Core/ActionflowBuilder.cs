using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Core;

/// <summary>
/// The one way a host composes Actionflow: <c>services.AddActionflow(configuration)</c>, then a database
/// (<c>UsePostgres</c>, <c>UseSqlite</c>, or <c>UseDatabase</c> from settings), a transport (<c>UseRabbitMq</c>,
/// <c>UseEmbedded</c>), actions and the API. Each module adds its own <c>Use...</c>/<c>Add...</c> methods; every one
/// binds its options from the <c>Actionflow</c> section and validates them when the host starts.
/// </summary>
public sealed class ActionflowBuilder
{
    /// <summary>The configuration section of every Actionflow setting (environment: <c>Actionflow__Name</c>).</summary>
    public const string Section = "Actionflow";

    public ActionflowBuilder(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        Services = services;
        Configuration = configuration;
    }

    public IServiceCollection Services { get; }

    public IConfiguration Configuration { get; }

    /// <summary>The <c>Actionflow</c> section.</summary>
    public IConfigurationSection Settings => Configuration.GetSection(Section);
}
