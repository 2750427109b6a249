using Actionflow.Api.Errors;

namespace Actionflow.Api.Validation;

/// <summary>Integer paging: <c>page</c> from 0, <c>page_size</c> 1–1,000 (default 50).</summary>
public readonly record struct Paging(int Page, int PageSize)
{
    public const int MaxPageSize = 1000;

    public int Skip => Page * PageSize;

    public static Paging Read(int? page, int? pageSize, FieldErrors errors, int defaultPageSize = 50)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (page < 0)
        {
            errors.Add("page", "must be 0 or more");
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            errors.Add("page_size", $"must be from 1 to {MaxPageSize}");
        }

        var p = Math.Max(page ?? 0, 0);
        var size = Math.Clamp(pageSize ?? defaultPageSize, 1, MaxPageSize);
        // Keep the offset within int range whatever page is asked for.
        return new Paging((int)Math.Min(p, (long)int.MaxValue / size), size);
    }
}
