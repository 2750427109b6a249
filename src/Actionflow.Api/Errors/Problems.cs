using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Actionflow.Api.Errors;

/// <summary>RFC 7807 answers used by the endpoints.</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string what, long id) =>
        NotFound($"{what} {id.ToString(CultureInfo.InvariantCulture)} was not found in this project.");

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
}
