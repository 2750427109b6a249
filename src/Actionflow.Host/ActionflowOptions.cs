namespace Actionflow.Host;

/// <summary>The top-level settings (section <c>Actionflow</c>; environment variables <c>Actionflow__Name</c>).</summary>
public sealed class ActionflowOptions
{
    public const string Section = "Actionflow";

    /// <summary>A PostgreSQL or SQLite connection string; empty means the embedded SQLite file under <see cref="DataDirectory"/>.</summary>
    public string? Database { get; set; }

    /// <summary>An <c>amqp://</c> URI of RabbitMQ; empty means the embedded transport (SQLite only).</summary>
    public string? Broker { get; set; }

    /// <summary>Declare <c>events</c>/<c>event.new</c> exactly as Diffgram does, so its publishers feed Actionflow.</summary>
    public bool DiffgramCompatible { get; set; }

    /// <summary>Where the embedded database lives.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>True when <see cref="Broker"/> names RabbitMQ; otherwise the embedded transport runs.</summary>
    public bool UsesBroker => !string.IsNullOrWhiteSpace(Broker);

    /// <summary>Paths of assemblies whose public <c>ActionRunner</c> classes are registered as actions.</summary>
    public IList<string> Plugins { get; } = [];
}
