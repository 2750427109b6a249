namespace Actionflow.Actions.HuggingFace;

/// <summary>Host-wide settings of <c>hf_zero_shot</c>, bound from <c>Actionflow:HuggingFace</c>; a step's config overrides them.</summary>
public sealed class HuggingFaceOptions
{
    public const string SectionName = "Actionflow:HuggingFace";

    /// <summary>The Inference API's base URL; the model name is appended (<c>{BaseUrl}/{model}</c>).</summary>
    public string BaseUrl { get; set; } = "https://router.huggingface.co/hf-inference/models";

    /// <summary>The access token sent as <c>Authorization: Bearer</c>, when a step gives none.</summary>
    public string? Token { get; set; }
}
