namespace Actionflow.Core.Domain;

/// <summary>What an API key may do in its project. Ordered: each role can do what the ones before it can.</summary>
public enum ApiKeyRole
{
    /// <summary>Read only.</summary>
    Viewer,
    /// <summary>Workflows, actions, triggers and events.</summary>
    Editor,
    /// <summary>Everything in the project, API keys included.</summary>
    Admin,
}

/// <summary>
/// A project's API credential (Diffgram's client id and secret). Only a SHA-256 hash of the secret is stored: the
/// secret is 32 random bytes, so a fast hash is enough and lets a request find its key by hash.
/// </summary>
public sealed class ApiKey
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public required string ClientId { get; set; }
    public required byte[] SecretHash { get; set; }
    public ApiKeyRole Role { get; set; }
    public DateTime TimeCreated { get; set; }
}
