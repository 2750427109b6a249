using System.Net;

namespace Actionflow.Client;

/// <summary>
/// An error answer of the API (RFC 7807 problem details): its status, title, detail and, for invalid requests, the
/// messages per field (<c>name</c>, <c>config_data.url</c>, ...).
/// </summary>
public sealed class ActionflowApiException : Exception
{
    /// <summary>Creates the exception from a problem document's parts.</summary>
    public ActionflowApiException(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
        : base(Describe(status, title, detail))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Errors = errors ?? new Dictionary<string, string[]>();
    }

    /// <summary>Creates an exception with a message only.</summary>
    public ActionflowApiException(string message)
        : base(message)
    {
        Errors = new Dictionary<string, string[]>();
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public ActionflowApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = new Dictionary<string, string[]>();
    }

    /// <summary>Creates an empty exception.</summary>
    public ActionflowApiException()
        : this("The Actionflow API answered with an error.")
    {
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem's title.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail: what went wrong, in a sentence.</summary>
    public string? Detail { get; }

    /// <summary>Messages per field path, for a 400 validation problem.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>The credentials are missing, wrong, expired or revoked.</summary>
    public bool IsUnauthorized => Status == HttpStatusCode.Unauthorized;

    /// <summary>The messages for one field (empty when none).</summary>
    public IReadOnlyList<string> For(string field) => Errors.TryGetValue(field, out var messages) ? messages : [];

    private static string Describe(HttpStatusCode status, string? title, string? detail) =>
        $"{(int)status} {title ?? status.ToString()}" + (string.IsNullOrEmpty(detail) ? "" : ": " + detail);
}
