namespace Actionflow.Storage;

/// <summary>The single row (id 1) whose version changes with every workflow or action change.</summary>
public sealed class DefinitionsVersion
{
    public const int RowId = 1;

    public int Id { get; set; }

    public long Version { get; set; }

    /// <summary>The last version whose change a worker cannot follow workflow by workflow (a workflow row deleted, a bump naming no workflow).</summary>
    public long FullReloadVersion { get; set; }
}
