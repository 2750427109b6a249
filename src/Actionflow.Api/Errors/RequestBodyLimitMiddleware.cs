using System.Buffers;
using System.Text.Unicode;
using Actionflow.Api.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Actionflow.Api.Errors;

/// <summary>
/// A body is read as JSON whatever its Content-Type says, as Diffgram did (<c>get_json(force=True)</c>): clients that
/// forget the header (curl -d sends a form type) get a precise JSON error rather than 415. Runs before routing, which
/// would answer 415 itself; it reads nothing.
/// </summary>
internal sealed class JsonContentTypeMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            && context.Request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) != true
            && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            context.Request.ContentType = "application/json";
        }

        return next(context);
    }
}

/// <summary>
/// Caps API request bodies at <see cref="ApiOptions.MaxRequestBodyBytes"/>: a declared Content-Length over it is
/// refused at once, and a body is read into memory up to the limit (413 past it). The body read is then looked over
/// for text no JSON writer can write back (an escaped lone surrogate: 400 naming the field) before any endpoint
/// parses it. Runs after authorization, so nothing of a body is read for a caller who has not proved who they are.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next)
{
    private const int Limit = ApiOptions.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        // No endpoint (a 404 or 405 follows): nothing will read the body, so neither does this.
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) || context.GetEndpoint() is null)
        {
            await next(context);
            return;
        }

        if (context.Request.ContentLength > Limit)
        {
            await TooLargeAsync(context, problems);
            return;
        }

        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            // A declared length (every client that is not streaming) is read straight into a buffer of that size; only a
            // chunked body grows a stream, through a pooled chunk.
            MemoryStream buffer;
            if (context.Request.ContentLength is { } declared)
            {
                var bytes = new byte[declared];
                var filled = await context.Request.Body.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, context.RequestAborted);
                buffer = new MemoryStream(bytes, 0, filled, writable: false, publiclyVisible: true);
            }
            else
            {
                buffer = new MemoryStream();
                var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
                try
                {
                    int read;
                    while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                    {
                        if (buffer.Length + read > Limit)
                        {
                            await TooLargeAsync(context, problems);
                            return;
                        }

                        buffer.Write(chunk, 0, read);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(chunk);
                }
            }

            context.Response.RegisterForDisposeAsync(buffer);
            var body = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            // The JSON reader checks UTF-8 only when a string is read, which can be after a row was saved or while an
            // answer is written: a body that is not text, escapes half a surrogate pair or repeats a key is refused here.
            if (!Utf8.IsValid(body))
            {
                await FieldErrors.One("body", "is not valid UTF-8 text").ExecuteAsync(context);
                return;
            }

            if (JsonText.FindProblem(body) is { } problem)
            {
                await FieldErrors.One(problem.Field, problem.Message).ExecuteAsync(context);
                return;
            }

            buffer.Position = 0;
            context.Request.Body = buffer;
            context.Request.ContentLength = buffer.Length;
        }

        await next(context);
    }

    private static async Task TooLargeAsync(HttpContext context, IProblemDetailsService problems)
    {
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "Request body too large",
                Detail = $"Request bodies are limited to {Limit} bytes (1 MiB).",
            },
        });
    }
}
