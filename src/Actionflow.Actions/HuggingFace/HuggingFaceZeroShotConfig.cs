using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Actionflow.Sdk;

namespace Actionflow.Actions.HuggingFace;

/// <summary>The <c>config_data</c> of an <c>hf_zero_shot</c> step.</summary>
public sealed class HuggingFaceZeroShotConfig
{
    [Required]
    [Description("The text to classify: a template over event and previous, e.g. {{ event.extra_metadata.text }} or {{ previous.body.text }}.")]
    public string Text { get; set; } = "";

    [Required]
    [MinLength(1)]
    [Description("The labels to choose from, e.g. [\"invoice\", \"receipt\", \"letter\"].")]
    public List<string>? CandidateLabels { get; set; }

    [Description("Diffgram's attribute option id of each label (label -> id), reported as applied_option_id; null for a label without one.")]
    public Dictionary<string, long>? LabelIds { get; init; }

    [Description("The model, appended to the base URL (default facebook/bart-large-mnli).")]
    public string Model { get; set; } = "facebook/bart-large-mnli";

    [Description("True when several labels may hold at once (each scored on its own).")]
    public bool MultiLabel { get; set; }

    [Description("The Inference API–compatible base URL; when left out, the host's Actionflow__HuggingFace__BaseUrl (the Hugging Face router by default).")]
    public string? BaseUrl { get; set; }

    [Secret]
    [Description("The access token, e.g. {{ secrets.HF_TOKEN }}; when left out, the host's Actionflow__HuggingFace__Token.")]
    public string? Token { get; set; }

    [Range(1, 300)]
    [Description("Seconds to wait for the answer, from 1 to 300 (default 60: a cold model loads first).")]
    public int TimeoutSeconds { get; set; } = 60;
}
