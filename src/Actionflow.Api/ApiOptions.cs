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

    /// <summary>
    /// Without an <see cref="AdminToken"/>, make a one-time setup token at start and log it with the console's address
    /// (<c>Actionflow__SetupToken=false</c> to start with no admin access at all).
    /// </summary>
    public bool SetupToken { get; set; } = true;

    /// <summary>How often an open run stream (<c>workflow-runs/stream</c>) looks for changes (<c>Actionflow__RunStreamPollInterval</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Actionflow__RunStreamPollInterval must be from 50 ms to 1 minute.")]
    public TimeSpan RunStreamPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Failed authentications (credentials presented and refused) allowed per client address within
    /// <see cref="AuthFailureWindow"/>; past it such requests get 429 with Retry-After. 0 turns the limit off. Requests
    /// with valid credentials are never counted nor limited.
    /// </summary>
    [Range(0, 1_000_000, ErrorMessage = "Actionflow__AuthFailureLimit must be from 0 (off) to 1000000.")]
    public int AuthFailureLimit { get; set; } = 300;

    /// <summary>The sliding window <see cref="AuthFailureLimit"/> counts over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Actionflow__AuthFailureWindow must be from 00:00:01 to 1.00:00:00.")]
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a process keeps an API key it has read before reading it again (<c>Actionflow__ApiKeyRecheck</c>): a key
    /// revoked through this process stops working here at once, one revoked through another process (or in the
    /// database) stops working here within this bound. Zero reads the key on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Actionflow__ApiKeyRecheck must be from 00:00:00 (every request) to 00:01:00.")]
    public TimeSpan ApiKeyRecheck { get; set; } = TimeSpan.FromSeconds(1);
}
