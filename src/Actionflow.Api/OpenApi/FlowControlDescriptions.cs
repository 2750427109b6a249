using System.Text.Json.Nodes;
using Actionflow.Api.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Actionflow.Api.OpenApi;

/// <summary>
/// Describes the flow-control fields (additions to Diffgram's shapes) where a reader of the OpenAPI document meets
/// them: a step's trigger filter, depends_on, condition, else branch, join settings and concurrency, a workflow's
/// concurrency limit, and the rerun body; each with an example.
/// </summary>
internal sealed class FlowControlDescriptions : IOpenApiDocumentTransformer
{
    private static readonly Dictionary<string, (string Description, Func<JsonNode> Example)> StepFields = new(StringComparer.Ordinal)
    {
        ["trigger_data"] = (
            "Diffgram's trigger: event_name (the event kind that starts the step), directory filters, and filter: a CEL expression over event " +
            "(Diffgram's event shape, extra_metadata included) and previous (the output of the step that completed) that must hold for an event " +
            "to start the step. Refused with its line and column on trigger_data.filter.",
            () => new JsonObject { ["event_name"] = "input_file_uploaded", ["filter"] = "event.extra_metadata.score > 0.8 && event.directory_id in [12, 14]" }),
        ["depends_on"] = (
            "The steps (ids, same workflow, not archived) this step follows; its event_name is then action_completed. Empty: Diffgram's meaning, " +
            "the step before it by ordinal. Several make it a join. A cycle, an unknown, archived or foreign step is a 400 naming depends_on.",
            () => new JsonArray(101, 102)),
        ["condition"] = (
            "CEL over previous (the finished step's output), event (the action_completed event) and steps (outputs keyed by step id): the step " +
            "runs only when it holds after the step it follows, and is recorded skipped with the reason otherwise. \"\" removes it.",
            () => JsonValue.Create("previous.score > 0.8")),
        ["else_branch"] = (
            "Runs only when no sibling (a step following the same step) with a condition had it hold; recorded skipped otherwise.",
            () => JsonValue.Create(true)),
        ["join"] = (
            "For a join (several depends_on): all (default) runs once every predecessor succeeded; any runs once, at the first success.",
            () => JsonValue.Create("all")),
        ["on_predecessor_failure"] = (
            "For a join: what a failed or skipped predecessor does to it: skip (default) records it skipped, fail records it failed (and its workflow run).",
            () => JsonValue.Create("skip")),
        ["concurrency"] = (
            "At most limit runs of this step per value of key (CEL over event and previous; left out: the whole step) at once, across workers; " +
            "the others are recorded waiting with the reason and start in arrival order. {\"limit\": null} removes it (on update).",
            () => new JsonObject { ["key"] = "event.file_id", ["limit"] = 1 }),
    };

    private static readonly Dictionary<string, (string Description, Func<JsonNode> Example)> WorkflowFields = new(StringComparer.Ordinal)
    {
        ["concurrency_limit"] = (
            "At most this many runs of the workflow's steps at once, across workers; the others wait (status waiting, with the reason). " +
            "At least 1; 0 on update removes it.",
            () => JsonValue.Create(4)),
    };

    private static readonly Dictionary<string, (string Description, Func<JsonNode> Example)> RerunFields = new(StringComparer.Ordinal)
    {
        ["from_action_id"] = ("The step to run again; it must have run in this workflow run. The steps after it follow as they always do.", () => JsonValue.Create(102)),
        ["input"] = (
            "Optional: the step's input instead of the one its last run had (the event's extra_metadata; for a step after another, that step's output).",
            () => new JsonObject { ["score"] = 0.95, ["file_id"] = 8 }),
    };

    private static readonly Dictionary<string, (string Description, Func<JsonNode> Example)> ConcurrencyFields = new(StringComparer.Ordinal)
    {
        ["key"] = ("CEL over event and previous whose value, as text, groups the runs; null: one group for the whole step.", () => JsonValue.Create("event.file_id")),
        ["limit"] = ("How many runs per key at once: at least 1 (a 400 on concurrency.limit otherwise).", () => JsonValue.Create(1)),
    };

    // A document transformer, not a schema one: nullable object properties are wrapped (oneOf null or $ref) only once
    // the document is assembled, and their description belongs on that wrapper.
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var schemas = document.Components?.Schemas;
        if (schemas is null)
        {
            return Task.CompletedTask;
        }

        foreach (var type in (Type[])[typeof(CreateActionRequest), typeof(UpdateActionRequest), typeof(ActionDto)])
        {
            Describe(schemas, type.Name, StepFields);
        }

        foreach (var type in (Type[])[typeof(CreateWorkflowRequest), typeof(UpdateWorkflowRequest), typeof(WorkflowDto)])
        {
            Describe(schemas, type.Name, WorkflowFields);
        }

        if (Describe(schemas, nameof(RerunRequest), RerunFields) is { } rerun)
        {
            rerun.Description = "Runs a step of an ended workflow run again, and the steps after it, as a new attempt of the same workflow run.";
            rerun.Examples = [new JsonObject { ["from_action_id"] = 102, ["input"] = new JsonObject { ["score"] = 0.95, ["file_id"] = 8 } }];
        }

        if (Describe(schemas, nameof(StepConcurrencyDto), ConcurrencyFields) is { } concurrency)
        {
            concurrency.Examples = [new JsonObject { ["key"] = "event.file_id", ["limit"] = 1 }];
        }

        return Task.CompletedTask;
    }

    private static OpenApiSchema? Describe(IDictionary<string, IOpenApiSchema> schemas, string name, Dictionary<string, (string Description, Func<JsonNode> Example)> fields)
    {
        if (!schemas.TryGetValue(name, out var found) || found is not OpenApiSchema schema)
        {
            return null;
        }

        Describe(schema, fields);
        return schema;
    }

    private static void Describe(OpenApiSchema schema, Dictionary<string, (string Description, Func<JsonNode> Example)> fields)
    {
        if (schema.Properties is null)
        {
            return;
        }

        foreach (var (name, (description, example)) in fields)
        {
            switch (schema.Properties.TryGetValue(name, out var property) ? property : null)
            {
                case OpenApiSchema inline:
                    inline.Description = description;
                    inline.Examples = [example()];
                    break;
                case OpenApiSchemaReference reference:
                    reference.Description = description;
                    break;
            }
        }
    }
}
