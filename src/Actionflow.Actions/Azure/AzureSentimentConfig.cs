using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Actionflow.Sdk;

namespace Actionflow.Actions.Azure;

/// <summary>The <c>config_data</c> of an <c>azure_sentiment</c> step.</summary>
public sealed class AzureSentimentConfig
{
    [Required]
    [Description("The Azure AI Language resource's endpoint, e.g. {{ secrets.AZURE_LANGUAGE_ENDPOINT }} (https://<resource>.cognitiveservices.azure.com).")]
    public string Endpoint { get; set; } = "";

    [Required]
    [Secret]
    [Description("The resource's key, e.g. {{ secrets.AZURE_LANGUAGE_KEY }} (sent as Ocp-Apim-Subscription-Key).")]
    public string Key { get; set; } = "";

    [Required]
    [Description("The text to analyse: a template over event and previous, e.g. {{ event.extra_metadata.text }}.")]
    public string Text { get; set; } = "";

    [RegularExpression("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    [Description("The text's language (ISO 639-1, e.g. en, fr, zh-hans); default en.")]
    public string Language { get; set; } = "en";

    [Description("True to also report opinions on aspects (targets and assessments) per sentence.")]
    public bool OpinionMining { get; set; }

    [RegularExpression(@"^\d{4}-\d{2}-\d{2}(-preview)?$")]
    [Description("The API version (default 2023-04-01, the generally available one).")]
    public string ApiVersion { get; set; } = "2023-04-01";

    [Range(1, 300)]
    [Description("Seconds to wait for the answer, from 1 to 300 (default 30).")]
    public int TimeoutSeconds { get; set; } = 30;
}
