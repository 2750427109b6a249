namespace Actionflow.Core.Domain;

/// <summary>
/// A named secret of a project, referenced from any step's config as <c>{{ secrets.NAME }}</c>. Only the sealed value is
/// stored (AES-GCM, see Actionflow.Core.Secrets); the API returns names and metadata, never the value.
/// </summary>
public sealed class ProjectSecret
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>The value sealed with AES-GCM, bound to the project and name.</summary>
    public required string SealedValue { get; set; }
    /// <summary>The id of the key it is sealed under (rotation re-seals those under a previous key).</summary>
    public required string KeyId { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
