using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Actionflow.Sdk;

namespace Actionflow.Actions.Export;

/// <summary>The <c>config_data</c> of an <c>export</c> step: Diffgram's names (<c>source</c>, <c>directory_id</c>, <c>task_template_id</c>, <c>task_id</c>, <c>kind</c>, <c>ann_is_complete</c>) plus how to reach Diffgram.</summary>
public sealed class ExportConfig
{
    [Required]
    [Description("The Diffgram instance's base URL, e.g. https://diffgram.example.com (or {{ secrets.DIFFGRAM_URL }}).")]
    public string DiffgramUrl { get; set; } = "";

    [Required]
    [Description("The Diffgram project's string id (as in /api/walrus/project/<project_string_id>/...).")]
    public string ProjectStringId { get; set; } = "";

    [Description("The API client id (Diffgram's API credentials, sent with HTTP Basic authentication).")]
    public string? ClientId { get; set; }

    [Secret]
    [Description("The API client secret, e.g. {{ secrets.DIFFGRAM_CLIENT_SECRET }}.")]
    public string? ClientSecret { get; set; }

    [RegularExpression("^(directory|job|task)$")]
    [Description("What to export: directory (a dataset, the default), job (a task template) or task.")]
    public string Source { get; set; } = "directory";

    [Description("The dataset to export (source directory); when left out, the event's directory_id.")]
    public long? DirectoryId { get; set; }

    [Description("The task template (job) to export (source job).")]
    public long? TaskTemplateId { get; set; }

    [Description("The task to export (source task); when left out, the event's task_id.")]
    public long? TaskId { get; set; }

    [RegularExpression("^(Annotations|TF Records)$")]
    [Description("Annotations (JSON, the default) or TF Records.")]
    public string Kind { get; set; } = "Annotations";

    [Description("True: only completed annotations; left out: all.")]
    public bool? AnnIsComplete { get; set; }

    [Range(1, 300)]
    [Description("Seconds between status checks while the export is generated, from 1 to 300 (default 5).")]
    public int PollIntervalSeconds { get; set; } = 5;

    [Range(5, 86_400)]
    [Description("Seconds to wait for the export to be generated before the run fails, from 5 to 86400 (default 1800).")]
    public int WaitTimeoutSeconds { get; set; } = 1800;

    [Range(1, 300)]
    [Description("Seconds to wait for each request, from 1 to 300 (default 30).")]
    public int TimeoutSeconds { get; set; } = 30;
}
