using Microsoft.Extensions.Logging;

namespace Actionflow.Api;

internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Information, "Project {ProjectId} ({StringId}) created")]
    public static partial void ProjectCreated(ILogger logger, long projectId, string stringId);

    [LoggerMessage(3002, LogLevel.Information, "API key {ClientId} ({Role}) created in project {ProjectId}")]
    public static partial void ApiKeyCreated(ILogger logger, string clientId, string role, long projectId);

    [LoggerMessage(3003, LogLevel.Information, "API key {ClientId} of project {ProjectId} deleted")]
    public static partial void ApiKeyDeleted(ILogger logger, string clientId, long projectId);

    [LoggerMessage(3010, LogLevel.Information, "Workflow run {WorkflowRunId}: {Count} failed action runs queued again")]
    public static partial void RunRetried(ILogger logger, long workflowRunId, int count);

    [LoggerMessage(3011, LogLevel.Information, "Workflow run {WorkflowRunId} canceled ({Count} pending or running action runs)")]
    public static partial void RunCanceled(ILogger logger, long workflowRunId, int count);

    [LoggerMessage(3020, LogLevel.Warning, "Could not reload the trigger index after a definitions change; the poller will")]
    public static partial void RefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(3030, LogLevel.Debug, "Authentication failed: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string reason);

    [LoggerMessage(3040, LogLevel.Warning,
        "Actionflow console: {ConsoleUrl} - no admin token is configured, so sign in with this one-time setup token: {SetupToken} "
        + "(valid until this process stops; set Actionflow__AdminToken for a lasting one)")]
    public static partial void SetupToken(ILogger logger, string consoleUrl, string setupToken);

    [LoggerMessage(3041, LogLevel.Information, "Actionflow console: {ConsoleUrl}")]
    public static partial void ConsoleAddress(ILogger logger, string consoleUrl);

    [LoggerMessage(3050, LogLevel.Debug, "Run stream for project {ProjectId} closed after {Changes} changes")]
    public static partial void StreamClosed(ILogger logger, long projectId, int changes);
}
