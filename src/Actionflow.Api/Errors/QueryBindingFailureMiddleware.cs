using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Actionflow.Api.Errors;

/// <summary>
/// Names the query or route value that an endpoint could not bind. The API's request delegates are generated at compile
/// time (<c>EnableRequestDelegateGenerator</c>), and for an optional parsable parameter (<c>int? page</c>,
/// <c>DateTimeOffset? since</c>) that fails to parse the generated code ends the request with a bare 400 instead of
/// throwing, as <c>RouteHandlerOptions.ThrowOnBadRequest</c> asks and the runtime-built delegates do. Only on that path
/// (a 400 with nothing written), this finds the value that does not parse and throws the exception the runtime-built
/// delegate would have thrown, so <see cref="BadRequestExceptionHandler"/> answers the same problem naming the field.
/// A request that binds costs one status check.
/// </summary>
internal sealed class QueryBindingFailureMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        var response = context.Response;
        if (response.StatusCode != StatusCodes.Status400BadRequest || response.HasStarted
            || response.ContentLength.HasValue || !string.IsNullOrEmpty(response.ContentType))
        {
            return;
        }

        if (context.GetEndpoint()?.Metadata.GetOrderedMetadata<IParameterBindingMetadata>() is not { Count: > 0 } parameters)
        {
            return;
        }

        foreach (var parameter in parameters)
        {
            if (parameter.HasTryParse && Raw(context, parameter) is { Length: > 0 } raw
                && !Parses(parameter.ParameterInfo.ParameterType, raw))
            {
                // The runtime-built delegate's wording, which BadRequestExceptionHandler reads the field and type from.
                throw new BadHttpRequestException(string.Create(CultureInfo.InvariantCulture,
                    $"Failed to bind parameter \"{DisplayName(parameter.ParameterInfo.ParameterType)} {parameter.Name}\" from \"{raw}\"."));
            }
        }
    }

    /// <summary>
    /// The value as the request sent it: <c>[FromQuery]</c> from the query, <c>[FromRoute]</c> from the route, and
    /// neither (route or query, as the delegates bind it) from the route if it has one by that name, else the query.
    /// </summary>
    private static string? Raw(HttpContext context, IParameterBindingMetadata parameter)
    {
        var attributes = parameter.ParameterInfo.GetCustomAttributes().ToList();
        if (attributes.OfType<IFromQueryMetadata>().FirstOrDefault() is { } fromQuery)
        {
            return context.Request.Query[fromQuery.Name ?? parameter.Name].ToString();
        }

        var fromRoute = attributes.OfType<IFromRouteMetadata>().FirstOrDefault();
        if (context.GetRouteValue(fromRoute?.Name ?? parameter.Name) is { } routeValue)
        {
            return Convert.ToString(routeValue, CultureInfo.InvariantCulture);
        }

        return fromRoute is null ? context.Request.Query[parameter.Name].ToString() : null;
    }

    /// <summary>
    /// Parsed as the delegates parse: a date assumes UTC and allows white space; numbers and the rest by their
    /// <c>TryParse(string, IFormatProvider, out T)</c>. A type with no such method is taken as parsed (nothing to name).
    /// </summary>
    private static bool Parses(Type type, string value)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(DateTimeOffset))
        {
            return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out _);
        }

        var tryParse = target.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static,
            [typeof(string), typeof(IFormatProvider), target.MakeByRefType()]);
        return tryParse is null || (bool)tryParse.Invoke(null, [value, CultureInfo.InvariantCulture, null])!;
    }

    private static string DisplayName(Type type) =>
        Nullable.GetUnderlyingType(type) is { } underlying ? underlying.Name + "?" : type.Name;
}
