using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.Json;

namespace Actionflow.Api.Validation;

/// <summary>Refuses a JSON field nested deeper than the API can write back (<see cref="JsonLimits.MaxDepth"/>).</summary>
public static class JsonDepth
{
    public static string TooDeep => $"is nested deeper than {JsonLimits.MaxDepth} levels, the most a stored document may have";

    public static void Check(FieldErrors errors, string field, JsonNode? value)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!JsonLimits.IsWithin(value))
        {
            errors.Add(field, TooDeep);
        }
    }
}
