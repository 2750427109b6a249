namespace Actionflow.Sdk;

/// <summary>The event kinds Diffgram emits and Actionflow understands. Any other kind is accepted too.</summary>
public static class EventKinds
{
    /// <summary>A file finished processing after upload.</summary>
    public const string InputFileUploaded = "input_file_uploaded";
    /// <summary>A raw instance was uploaded.</summary>
    public const string InputInstanceUploaded = "input_instance_uploaded";
    /// <summary>A task was created.</summary>
    public const string TaskCreated = "task_created";
    /// <summary>A task was completed.</summary>
    public const string TaskCompleted = "task_completed";
    /// <summary>A task review started.</summary>
    public const string TaskReviewStart = "task_review_start";
    /// <summary>A reviewer requested changes.</summary>
    public const string TaskRequestChanges = "task_request_changes";
    /// <summary>A task review completed.</summary>
    public const string TaskReviewComplete = "task_review_complete";
    /// <summary>A task moved to in progress.</summary>
    public const string TaskInProgress = "task_in_progress";
    /// <summary>A comment was added to a task.</summary>
    public const string TaskCommentCreated = "task_comment_created";
    /// <summary>All tasks of a task template (job) completed.</summary>
    public const string TaskTemplateCompleted = "task_template_completed";
    /// <summary>A file was copied.</summary>
    public const string FileCopy = "file_copy";
    /// <summary>A file was moved.</summary>
    public const string FileMove = "file_move";
    /// <summary>A file was mirrored.</summary>
    public const string FileMirror = "file_mirror";
    /// <summary>An action run succeeded; <c>action_id</c> names the action, <c>extra_metadata</c> holds its output.</summary>
    public const string ActionCompleted = "action_completed";
    /// <summary>An action run failed; <c>action_id</c> names the action, <c>error_log</c> the reason.</summary>
    public const string ActionFailed = "action_failed";
    /// <summary>Someone triggered one action by hand; <c>workflow_id</c> and <c>action_id</c> name it.</summary>
    public const string ManualTrigger = "manual_trigger";
    /// <summary>A workflow's schedule fired; <c>workflow_id</c> names it.</summary>
    public const string TimeTrigger = "time_trigger";
    /// <summary>An export finished (Diffgram's Export template reports it as its completion event).</summary>
    public const string ExportGenerateSuccess = "export_generate_success";

    /// <summary>The kinds a Webhook-like action usually offers as triggers.</summary>
    public static IReadOnlyList<string> TaskAndFileEvents { get; } =
    [
        InputFileUploaded, TaskCreated, TaskCompleted, TaskReviewStart, TaskRequestChanges, TaskReviewComplete,
        TaskInProgress, TaskCommentCreated, TaskTemplateCompleted, FileCopy, FileMove, FileMirror,
    ];
}
