using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Actions.Webhook;
using Actionflow.Core.Json;
using Actionflow.Sdk;

namespace Actionflow.Actions.Outbound;

/// <summary>How an outgoing request ended.</summary>
public enum OutboundOutcome
{
    /// <summary>The server answered (any status).</summary>
    Answered,
    /// <summary>No answer within the timeout.</summary>
    TimedOut,
    /// <summary>Every address of the host is one actions may not reach (SSRF guard).</summary>
    Refused,
    /// <summary>No connection, or it broke.</summary>
    Unreachable,
}

/// <summary>One outgoing request's result: the answer (status, headers, body capped and parsed) or why there was none.</summary>
public sealed record OutboundAttempt(OutboundOutcome Outcome)
{
    public int StatusCode { get; init; }
    public string? ReasonPhrase { get; init; }
    /// <summary>Response headers, names in lower case, values joined with ", ".</summary>
    public JsonObject Headers { get; init; } = [];
    /// <summary>The body: parsed JSON when it is JSON and complete, else text; null for an empty body.</summary>
    public JsonNode? Body { get; init; }
    public bool Truncated { get; init; }
    /// <summary>The server's <c>Retry-After</c>, as a delay from now.</summary>
    public TimeSpan? RetryAfter { get; init; }
    public long ElapsedMs { get; init; }
    public string? RefusedHost { get; init; }
    public SpecialBlock? RefusedBlock { get; init; }
    public Exception? Error { get; init; }

    public bool IsSuccessStatus => StatusCode is >= 200 and <= 299;

    /// <summary>5xx, 429 and 408 may pass later; other 4xx say the request itself is wrong.</summary>
    public static bool IsRetryableStatus(int statusCode) => statusCode >= 500 || statusCode is 429 or 408;

    /// <summary><c>HTTP 503 Service Unavailable from https://host/path</c>.</summary>
    public string StatusMessage(string safeUrl) =>
        $"HTTP {StatusCode} {(string.IsNullOrEmpty(ReasonPhrase) ? ((System.Net.HttpStatusCode)StatusCode).ToString() : ReasonPhrase)} from {safeUrl}";

    /// <summary>
    /// The result of an attempt that got no answer, worded once for every action: a timeout or a broken connection may
    /// pass later, a refused address will not. Null when the server answered (the caller judges the status).
    /// </summary>
    public ActionResult? NoAnswerResult(string safeUrl, int timeoutSeconds, string who = "actions", JsonObject? output = null) => Outcome switch
    {
        OutboundOutcome.TimedOut => ActionResult.RetryableFailure($"timed out after {timeoutSeconds}s waiting for {safeUrl}", null, output ?? new JsonObject { ["url"] = safeUrl }),
        OutboundOutcome.Refused => ActionResult.Failure(
            $"{RefusedHost} resolves to {RefusedBlock}, which {who} may not reach; {OutboundUrl.AllowSetting}", output ?? new JsonObject { ["url"] = safeUrl }),
        OutboundOutcome.Unreachable => ActionResult.RetryableFailure($"could not reach {safeUrl}: {OutboundHttp.Describe(Error!)}", null, output ?? new JsonObject { ["url"] = safeUrl }),
        _ => null,
    };

    /// <summary>The answer as a failed result when its status is not a success: retryable for 5xx, 429 and 408 (after <c>Retry-After</c>).</summary>
    public ActionResult FailedStatusResult(string safeUrl, JsonObject output) =>
        IsRetryableStatus(StatusCode)
            ? ActionResult.RetryableFailure(StatusMessage(safeUrl), RetryAfter, output)
            : ActionResult.Failure(StatusMessage(safeUrl), output);
}

/// <summary>
/// The one way actions call out over HTTP (Webhook, http_request, hf_zero_shot, azure_sentiment, export): through the
/// guarded client (no private networks unless allowed, no redirects, proxies or cookies), with a timeout per request,
/// the response capped and parsed, <c>Retry-After</c> read, and every way of failing told apart.
/// </summary>
public sealed class OutboundHttp(IHttpClientFactory httpClientFactory, TimeProvider timeProvider)
{
    /// <summary>The guarded client of every action but the Webhook (which keeps its own name and User-Agent).</summary>
    public const string ClientName = "actionflow-outbound";

    public async Task<OutboundAttempt> SendAsync(
        HttpRequestMessage request, TimeSpan timeout, int maxResponseBytes, CancellationToken cancellationToken, string clientName = ClientName)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = timeProvider.GetTimestamp();
        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            var client = httpClientFactory.CreateClient(clientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var (body, truncated) = await ReadCappedAsync(response.Content, maxResponseBytes, linked.Token);
            var headers = new JsonObject();
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                headers[name.ToLowerInvariant()] = string.Join(", ", values);
            }

            return new OutboundAttempt(OutboundOutcome.Answered)
            {
                StatusCode = (int)response.StatusCode,
                ReasonPhrase = response.ReasonPhrase,
                Headers = headers,
                Body = body,
                Truncated = truncated,
                RetryAfter = RetryAfter(response),
                ElapsedMs = (long)timeProvider.GetElapsedTime(started).TotalMilliseconds,
            };
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new OutboundAttempt(OutboundOutcome.TimedOut);
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refusal)
        {
            return new OutboundAttempt(OutboundOutcome.Refused) { RefusedHost = refusal.Host, RefusedBlock = refusal.Block, Error = ex };
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return new OutboundAttempt(OutboundOutcome.Unreachable) { Error = ex };
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>At most <paramref name="maxBytes"/> of the body: JSON parsed when complete (and not deeper than outputs may be), else text.</summary>
    public static async Task<(JsonNode? Body, bool Truncated)> ReadCappedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var buffer = new byte[maxBytes + 1];
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        var truncated = read > maxBytes;
        var length = Math.Min(read, maxBytes);

        // flush: false drops a character cut in half by the cap instead of turning it into U+FFFD.
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[decoder.GetCharCount(buffer, 0, length, flush: !truncated)];
        var text = new string(chars, 0, decoder.GetChars(buffer, 0, length, chars, 0, flush: !truncated));

        if (!truncated && LooksLikeJson(content.Headers.ContentType?.MediaType, text))
        {
            try
            {
                // The body sits one level down in the output, which becomes the next event's extra_metadata: a
                // document deeper than the API can write back is kept as the text it was.
                if (JsonNode.Parse(text) is var parsed && JsonLimits.IsWithin(parsed, JsonLimits.MaxDepth - 1))
                {
                    return (parsed, false);
                }
            }
            catch (JsonException)
            {
            }
        }

        return (JsonValue.Create(text), truncated);
    }

    private static bool LooksLikeJson(string? mediaType, string text)
    {
        if (mediaType is not null
            && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            return text.Length > 0;
        }

        var trimmed = text.AsSpan().TrimStart();
        return trimmed.Length > 0 && trimmed[0] is '{' or '[';
    }

    private static WebhookAddressRefusedException? FindRefusal(Exception ex)
    {
        for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookAddressRefusedException refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    public static string Describe(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{ex.Message} {inner.Message}"
            : ex.Message;
    }
}
