using Actionflow.Client;
using Microsoft.AspNetCore.Components.Server.ProtectedBrowserStorage;
using Microsoft.JSInterop;

namespace Actionflow.Console.Session;

/// <summary>
/// One browser tab's sign-in (one per circuit): the credentials, what they are, the project in view. The credentials
/// stay on the server; the tab keeps only an encrypted copy (session storage) so a reload does not sign it out.
/// </summary>
public sealed class ConsoleSession(IHttpClientFactory httpClients, ConsoleApiAddress address, ProtectedSessionStorage storage)
{
    private const string StorageKey = "actionflow.signin";

    public ActionflowClient? Client { get; private set; }

    public WhoAmI? Me { get; private set; }

    /// <summary>The project in view (its string id).</summary>
    public string? Project { get; private set; }

    /// <summary>Projects the admin token may choose from.</summary>
    public IReadOnlyList<Project> Projects { get; private set; } = [];

    public bool Restored { get; private set; }

    public bool IsSignedIn => Client is not null && Me is not null;

    /// <summary>Why the last sign-out happened (shown on the sign-in page), when it was not asked for.</summary>
    public string? SignOutReason { get; private set; }

    public event Action? Changed;

    /// <summary>Reads the tab's remembered sign-in, once, after the first render (storage needs the browser).</summary>
    public async Task RestoreAsync()
    {
        if (Restored)
        {
            return;
        }

        try
        {
            var stored = await storage.GetAsync<StoredSignIn>(StorageKey);
            if (stored is { Success: true, Value: { } value })
            {
                await SignInAsync(value.ClientId, value.Secret, value.Project);
            }
        }
        catch (ActionflowApiException ex) when (ex.IsUnauthorized)
        {
            await ForgetAsync();
            SignOutReason = "Your sign-in is no longer valid: the key was revoked or the setup token expired when Actionflow restarted. Sign in again.";
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or JSException or ActionflowApiException or HttpRequestException)
        {
            // Unreadable (keys rotated away) or unreachable: start signed out.
            await ForgetAsync();
        }

        Restored = true;
        Changed?.Invoke();
    }

    /// <summary>Checks the credentials with the API and keeps them. Throws <see cref="ActionflowApiException"/> when refused.</summary>
    public async Task SignInAsync(string? clientId, string secret, string? project = null)
    {
        var client = new ActionflowClient(CreateHttpClient(), new ActionflowCredentials(string.IsNullOrWhiteSpace(clientId) ? null : clientId.Trim(), secret.Trim()));
        var me = await client.WhoAmIAsync();
        var projects = me.InstallationAdmin ? await client.ListProjectsAsync() : [];
        Client = client;
        Me = me;
        Projects = projects;
        Project = me.Project?.StringId ?? projects.FirstOrDefault(p => p.StringId == project)?.StringId ?? (projects.Count > 0 ? projects[0].StringId : null);
        SignOutReason = null;
        Restored = true;
        await RememberAsync();
        Changed?.Invoke();
    }

    public async Task SignOutAsync(string? reason = null)
    {
        Client = null;
        Me = null;
        Project = null;
        Projects = [];
        SignOutReason = reason;
        await ForgetAsync();
        Changed?.Invoke();
    }

    public async Task SelectProjectAsync(string stringId)
    {
        Project = stringId;
        await RememberAsync();
        Changed?.Invoke();
    }

    public async Task<Project> CreateProjectAsync(string stringId, string? name)
    {
        var created = await Client!.CreateProjectAsync(stringId, name);
        Projects = await Client.ListProjectsAsync();
        await SelectProjectAsync(created.StringId);
        return created;
    }

    private HttpClient CreateHttpClient()
    {
        var http = httpClients.CreateClient(ConsoleApiAddress.HttpClientName);
        http.BaseAddress = address.Address;
        return http;
    }

    private async Task RememberAsync()
    {
        if (Client is null)
        {
            return;
        }

        try
        {
            await storage.SetAsync(StorageKey, new StoredSignIn(Client.Credentials.ClientId, Client.Credentials.Secret, Project));
        }
        catch (Exception ex) when (ex is JSException or InvalidOperationException or JSDisconnectedException)
        {
            // Before the first render or after the tab closed: nothing to remember in.
        }
    }

    private async Task ForgetAsync()
    {
        try
        {
            await storage.DeleteAsync(StorageKey);
        }
        catch (Exception ex) when (ex is JSException or InvalidOperationException or JSDisconnectedException)
        {
        }
    }

    private sealed record StoredSignIn(string? ClientId, string Secret, string? Project);
}
