using System.Text.Json;
using System.Text.RegularExpressions;
using Actionflow.Api.Validation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Actionflow.Api.Errors;

/// <summary>
/// Turns request binding failures (bad JSON, wrong types, bad query values, missing body, wrong content type) into
/// problem details naming the field, instead of the framework's empty 400.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        var status = bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : StatusCodes.Status400BadRequest;
        ProblemDetails problem;
        if (status == StatusCodes.Status400BadRequest && Describe(bad) is { } field)
        {
            problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field.Name] = [field.Message] })
            {
                Title = "The request is not valid",
                Detail = $"The request has invalid fields: {field.Name}.",
                Status = status,
            };
        }
        else
        {
            problem = new ProblemDetails
            {
                Status = status,
                Title = status switch
                {
                    StatusCodes.Status413PayloadTooLarge => "Request body too large",
                    StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
                    _ => "Bad request",
                },
                Detail = status == StatusCodes.Status415UnsupportedMediaType
                    ? "Send the body as JSON with Content-Type: application/json."
                    : bad.Message,
            };
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static (string Name, string Message)? Describe(BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException json)
        {
            if (json.Message.Contains("maximum configured depth", StringComparison.Ordinal))
            {
                // The path runs down to where the reader gave up; the field a person sent is its first step.
                return (TopFieldOf(json.Path), JsonDepth.TooDeep);
            }

            var field = FieldOf(json.Path);
            // Records report their own type ("could not be converted to ...CreateActionRequest"): look the field up in it.
            var converted = CouldNotConvert().Match(json.Message);
            var declaring = converted.Success ? typeof(BadRequestExceptionHandler).Assembly.GetType(converted.Groups["type"].Value) : null;
            return (field, ExpectedType(declaring, field) is { } expected ? "must be " + Friendly(expected.Name) : JsonMessage(json));
        }

        var bind = BindFailure().Match(bad.Message);
        if (bind.Success)
        {
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(bind.Groups["name"].Value);
            return (name, $"'{bind.Groups["value"].Value}' is not {Friendly(bind.Groups["type"].Value)}");
        }

        var required = RequiredMissing().Match(bad.Message);
        if (required.Success)
        {
            return (JsonNamingPolicy.SnakeCaseLower.ConvertName(required.Groups["name"].Value), "is required");
        }

        if (bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase))
        {
            return ("body", "a JSON object body is required");
        }

        return null;
    }

    /// <summary>The declared type of a top-level body field (<c>ordinal</c> → int?), to say what was expected.</summary>
    private static Type? ExpectedType(Type? bodyType, string field)
    {
        if (bodyType is null || field.Contains('.', StringComparison.Ordinal) || field.Contains('[', StringComparison.Ordinal))
        {
            return null;
        }

        var property = bodyType.GetProperties().FirstOrDefault(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name) == field);
        return property is null ? null : Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
    }

    /// <summary><c>$.config_data.url</c> → <c>config_data.url</c>; the root (syntax errors) → <c>body</c>.</summary>
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Length == 0 ? "body" : field;
    }

    /// <summary><c>$.extra_metadata.a.a</c> → <c>extra_metadata</c>; a path into a root array → <c>body</c>.</summary>
    private static string TopFieldOf(string? path)
    {
        var field = FieldOf(path);
        var end = field.IndexOfAny(['.', '[']);
        return end switch
        {
            0 => "body",
            > 0 => field[..end],
            _ => field,
        };
    }

    private static string JsonMessage(JsonException json)
    {
        var converted = CouldNotConvert().Match(json.Message);
        if (converted.Success)
        {
            return "must be " + Friendly(converted.Groups["type"].Value);
        }

        return string.IsNullOrEmpty(json.Path) || json.Path == "$"
            ? "is not valid JSON: " + StripLocation(json.Message)
            : "is not valid: " + StripLocation(json.Message);
    }

    private static string StripLocation(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static string Friendly(string clrType)
    {
        var type = clrType.Replace("System.Nullable`1[", "", StringComparison.Ordinal).Replace("Nullable<", "", StringComparison.Ordinal)
            .TrimEnd(']', '>', '?').Trim();
        var simple = type[(type.LastIndexOf('.') + 1)..];
        return simple switch
        {
            "Int32" or "Int64" or "int" or "long" => "an integer",
            "Boolean" or "bool" => "true or false",
            "String" or "string" => "a string",
            "DateTimeOffset" or "DateTime" => "an ISO 8601 date and time",
            "JsonObject" => "a JSON object",
            "JsonArray" => "a JSON array",
            "Double" or "Decimal" or "double" or "decimal" => "a number",
            _ => "a valid value",
        };
    }

    [GeneratedRegex("could not be converted to (?<type>[^\\s]+?)\\.?\\s(?:Path|$)")]
    private static partial Regex CouldNotConvert();

    [GeneratedRegex("Failed to bind parameter \"(?<type>.+) (?<name>[A-Za-z0-9_]+)\" from \"(?<value>.*)\"")]
    private static partial Regex BindFailure();

    [GeneratedRegex("Required parameter \"(?<type>.+) (?<name>[A-Za-z0-9_]+)\" was not provided")]
    private static partial Regex RequiredMissing();
}
