using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Sdk;

namespace Actionflow.Actions.Outbound;

/// <summary>
/// What the API connectors (hf_zero_shot, azure_sentiment, export) share on top of <see cref="OutboundHttp"/>: a JSON
/// request, and the failed result of an answer that is not a success, worded with the API's own error message and
/// retried for 5xx, 429 and 408 after <c>Retry-After</c> (or the wait the body asks for).
/// </summary>
public static class ApiCall
{
    private static readonly JsonSerializerOptions BodyJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static HttpRequestMessage Json(HttpMethod method, Uri uri, JsonNode? body = null)
    {
        var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(BodyJson), Encoding.UTF8, "application/json");
        }

        request.Headers.Accept.ParseAdd("application/json");
        return request;
    }

    /// <summary>
    /// The failure of an answer whose status is not 2xx: <c>HTTP 429 Too Many Requests from URL: the API's message</c>.
    /// <paramref name="bodyWait"/> is a wait the API states in its body (Hugging Face's <c>estimated_time</c>), used
    /// when there is no <c>Retry-After</c>.
    /// </summary>
    public static ActionResult Failed(OutboundAttempt attempt, string safeUrl, JsonObject output, string? apiMessage, TimeSpan? bodyWait = null)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        var reason = attempt.StatusMessage(safeUrl) + (string.IsNullOrWhiteSpace(apiMessage) ? "" : ": " + apiMessage);
        return OutboundAttempt.IsRetryableStatus(attempt.StatusCode)
            ? ActionResult.RetryableFailure(reason, attempt.RetryAfter ?? bodyWait, output)
            : ActionResult.Failure(reason, output);
    }

    /// <summary>
    /// <paramref name="name"/> of <paramref name="node"/> when it is an object, else null (a JSON node's indexer throws on
    /// an array or a value, and an API's error body may be either).
    /// </summary>
    public static JsonNode? Member(JsonNode? node, string name) => node is JsonObject obj ? obj[name] : null;

    /// <summary>A string member of a JSON body, or null.</summary>
    public static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node is JsonValue n ? n.ToJsonString() : null;

    /// <summary>A number member of a JSON body, or null.</summary>
    public static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    /// <summary><paramref name="baseUrl"/> with <paramref name="path"/> appended (one slash between them).</summary>
    public static string Combine(string baseUrl, string path) => baseUrl.TrimEnd('/') + "/" + path.TrimStart('/');
}
