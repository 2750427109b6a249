using System.ComponentModel.DataAnnotations;

namespace Actionflow.Api;

/// <summary>Settings of the HTTP API (section <c>Actionflow</c>).</summary>
public sealed class ApiOptions
{
    /// <summary>Largest request body the API reads; larger ones get 413.</summary>
    public const int MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>
    /// The installation admin token (<c>Actionflow__AdminToken</c>), sent as <c>Authorization: Bearer</c>: it may do
    /// everything, including creating projects and their first keys. Empty: no admin token.
    /// </summary>
    [MinLength(16, ErrorMessage = "Actionflow__AdminToken must be at least 16 characters long (or empty to disable it).")]
    public string? AdminToken { get; set; }
}
