using System.Globalization;
using Actionflow.Client;
using Actionflow.Console.Session;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace Actionflow.Console.Components;

/// <summary>
/// What every page shares: the signed-in client and project, and one way to call the API that turns its errors into
/// messages (401 signs out with a reason; field errors are kept for the form to show next to its fields).
/// </summary>
public abstract class ConsolePage : ComponentBase
{
    [Inject]
    protected ConsoleSession Session { get; set; } = null!;

    [Inject]
    protected ISnackbar Snackbar { get; set; } = null!;

    [Inject]
    protected NavigationManager Nav { get; set; } = null!;

    [Inject]
    protected TimeProvider Clock { get; set; } = null!;

    protected ActionflowClient Api => Session.Client!;

    protected string Project => Session.Project!;

    protected WhoAmI Me => Session.Me!;

    /// <summary>Field errors of the last failed call (empty after a success).</summary>
    protected FieldErrorMap FieldErrors { get; } = new();

    /// <summary>The message of the last failed call, for pages that show it in place (e.g. a load that failed).</summary>
    protected string? Error { get; set; }

    protected async Task<bool> CallAsync(Func<Task> call, string? success = null)
    {
        FieldErrors.Clear();
        Error = null;
        try
        {
            await call();
            if (success is not null)
            {
                Snackbar.Add(success, Severity.Success);
            }

            return true;
        }
        catch (ActionflowApiException ex) when (ex.IsUnauthorized)
        {
            await Session.SignOutAsync("Your sign-in is no longer valid: the key was revoked or the token changed. Sign in again.");
        }
        catch (ActionflowApiException ex)
        {
            FieldErrors.Set(ex.Errors);
            Error = ex.Status == System.Net.HttpStatusCode.Forbidden
                ? "Not allowed: " + (ex.Detail ?? "these credentials cannot do this.")
                : ex.Detail ?? ex.Message;
            Snackbar.Add(Error, Severity.Error);
        }
        catch (HttpRequestException ex)
        {
            Error = "The Actionflow API cannot be reached: " + ex.Message;
            Snackbar.Add(Error, Severity.Error);
        }
        catch (TaskCanceledException)
        {
            Error = "The Actionflow API did not answer in time.";
            Snackbar.Add(Error, Severity.Error);
        }

        return false;
    }

    protected string Ago(DateTime? at)
    {
        if (at is not { } t)
        {
            return "—";
        }

        var span = Clock.GetUtcNow().UtcDateTime - t;
        return span.TotalSeconds < 60 ? "just now"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes} min ago"
            : span.TotalHours < 24 ? $"{(int)span.TotalHours} h ago"
            : t.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }

    protected static string Time(DateTime? at) => at is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC" : "—";
}

/// <summary>The API's field errors by path, for forms to show under the field they name.</summary>
public sealed class FieldErrorMap
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public IEnumerable<KeyValuePair<string, string[]>> All => _errors;

    public void Clear() => _errors.Clear();

    public void Set(IReadOnlyDictionary<string, string[]> errors)
    {
        _errors.Clear();
        foreach (var (key, value) in errors)
        {
            _errors[key] = value;
        }
    }

    public bool Has(string field) => _errors.ContainsKey(field);

    public string? this[string field] => _errors.TryGetValue(field, out var messages) ? string.Join(" ", messages) : null;

    /// <summary>Errors whose path starts with <paramref name="prefix"/>, keyed by the rest of the path.</summary>
    public Dictionary<string, string> Under(string prefix) =>
        _errors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(e => e.Key[prefix.Length..], e => string.Join(" ", e.Value), StringComparer.Ordinal);
}
