using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.Actions.Http;

/// <summary>The <c>config_data</c> of an <c>http_request</c> step. Strings are Liquid templates over <c>event</c> and <c>previous</c>.</summary>
public sealed class HttpRequestConfig
{
    public const int MinTimeoutSeconds = 1;
    public const int MaxTimeoutSeconds = 300;
    public const int MinResponseBytes = 1024;
    public const int MaxResponseBytesLimit = 1024 * 1024;

    [RegularExpression("^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")]
    [Description("GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.")]
    public string Method { get; set; } = "GET";

    [Required]
    [Description("The absolute http or https URL (a template, e.g. https://api.example.com/files/{{ event.file_id }}).")]
    public string Url { get; set; } = "";

    [Secret]
    [Description("Request headers (values are templates and secret: responses show \"********\"), e.g. {\"Authorization\": \"Bearer {{ secrets.API_TOKEN }}\"}.")]
    public Dictionary<string, string>? Headers { get; init; }

    [Description("Query parameters added to the URL, each value a template (escaped for you).")]
    public Dictionary<string, string>? Query { get; init; }

    [RegularExpression("^(json|form|text)$")]
    [Description("How body is sent: json (a JSON document whose strings are templates), form (an object of templates, sent URL-encoded) or text (one template).")]
    public string BodyType { get; set; } = "json";

    [Description("The body; none when left out.")]
    public JsonNode? Body { get; set; }

    [RegularExpression(@"^\s*\d{3}(\s*-\s*\d{3})?(\s*,\s*\d{3}(\s*-\s*\d{3})?)*\s*$")]
    [Description("Statuses that count as success, as ranges: e.g. 200-299 (the default) or 200-299,404.")]
    public string SuccessStatuses { get; set; } = "200-299";

    [Range(MinTimeoutSeconds, MaxTimeoutSeconds)]
    [Description("Seconds to wait for the whole request, from 1 to 300.")]
    public int TimeoutSeconds { get; set; } = 30;

    [Range(MinResponseBytes, MaxResponseBytesLimit)]
    [Description("The response body is recorded up to this many bytes (1 KiB to 1 MiB, default 64 KiB); past it, as truncated text.")]
    public int MaxResponseBytes { get; set; } = 64 * 1024;
}
