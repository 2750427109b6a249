using System.Text.Json.Nodes;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Endpoints;

/// <summary>Diffgram's step routes (6, 7, 9, 10, 11).</summary>
public static class ActionEndpoints
{
    private const string Tag = "Actions (Diffgram)";

    public static void MapActionEndpoints(this RouteGroupBuilder project)
    {
        project.MapPost("actions/workflow/{workflow_id:long}/action", CreateAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("CreateAction").WithSummary("Add a step to the workflow in the path, from a template.").ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPut("actions/{action_id:long}", UpdateAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("UpdateAction").WithSummary("Change a step; fields left out keep their values (archived: true removes it).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPut("workflow/{workflow_id:long}/actions/{action_id:long}/manual_trigger", ManualTriggerAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("ManualTrigger").WithSummary("Run exactly this step now (its trigger must be manual_trigger, its workflow active).")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        project.MapGet("action/previous/{action_id:long}", PreviousAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetPreviousAction").WithSummary("The step before this one (by ordinal, archived steps skipped); 404 for the first step.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapGet("action/{action_id:long}/runs/list", RunsAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListActionRuns").WithSummary("A step's runs, newest first, every status.").ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<ActionResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        [FromRoute(Name = "workflow_id")] long workflowId, CreateActionRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        Definitions definitions, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken);
        if (workflow is null)
        {
            return Problems.NotFound("Workflow", workflowId);
        }

        var errors = new FieldErrors();
        if (TooDeep(errors, request.TriggerData, request.Precondition, request.CompletionConditionData, request.ConfigData, request.OutputInterface, request.RetryPolicy))
        {
            return errors.ToProblem();
        }

        if (request.WorkflowId is { } bodyWorkflow && bodyWorkflow != workflowId)
        {
            errors.Add("workflow_id", $"must be the workflow in the path ({workflowId}) or left out");
        }

        var template = await FindTemplateAsync(db, request.Kind, request.TemplateId, errors, cancellationToken);
        if (template is null || errors.Any)
        {
            return errors.ToProblem();
        }

        var active = request.Active ?? true;
        var trigger = TemplateRules.Trigger(request.TriggerData, template, errors, complete: workflow.Active && active);
        FlowRules.Filter(trigger, errors);
        if (request.Ordinal is < 0)
        {
            errors.Add("ordinal", "must be 0 or more");
        }

        var retryPolicy = RetryPolicyOf(request.RetryPolicy, errors);
        var schema = definitions.Schemas.For(template);
        var config = schema.KeepSecrets(request.ConfigData ?? [], stored: null);
        definitions.Validate(template, config, complete: workflow.Active && active, errors);
        config = definitions.Seal(template, config, project.Id, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var now = time.GetUtcNow().UtcDateTime;
        var action = new WorkflowAction
        {
            ProjectId = project.Id,
            WorkflowId = workflowId,
            TemplateId = template.Id,
            Kind = template.Kind,
            PublicName = NonBlank(request.PublicName) ?? template.PublicName,
            Description = NonBlank(request.Description) ?? template.Description,
            Icon = NonBlank(request.Icon) ?? template.Icon,
            Ordinal = request.Ordinal ?? await db.Actions.CountAsync(a => a.WorkflowId == workflowId && !a.Archived, cancellationToken),
            TriggerData = trigger,
            Precondition = Clone(request.Precondition ?? template.ConditionData),
            CompletionConditionData = Clone(request.CompletionConditionData ?? template.CompletionConditionData),
            ConfigData = config,
            OutputInterface = request.OutputInterface is null ? null : Clone(request.OutputInterface),
            RetryPolicy = retryPolicy,
            Active = active,
            TimeCreated = now,
            TimeUpdated = now,
            DependsOn = [.. request.DependsOn ?? []],
            Condition = NonBlank(request.Condition),
            ElseBranch = request.ElseBranch ?? false,
            JoinMode = request.Join ?? "all",
            OnPredecessorFailure = request.OnPredecessorFailure ?? "skip",
            ConcurrencyKey = NonBlank(request.Concurrency?.Key),
            ConcurrencyLimit = request.Concurrency?.Limit,
        };
        await FlowRules.StepAsync(db, action, errors, cancellationToken);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        db.Actions.Add(action);
        await definitions.SaveAsync(db, workflowId, now, cancellationToken);
        return TypedResults.Ok(new ActionResponse(definitions.ToDto(action, template)));
    }

    private static async Task<Results<Ok<ActionResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        [FromRoute(Name = "action_id")] long actionId, UpdateActionRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        Definitions definitions, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var action = await db.Actions.FirstOrDefaultAsync(a => a.Id == actionId && a.ProjectId == project.Id, cancellationToken);
        if (action is null)
        {
            return Problems.NotFound("Action", actionId);
        }

        var errors = new FieldErrors();
        if (TooDeep(errors, request.TriggerData, request.Precondition, request.CompletionConditionData, request.ConfigData, request.OutputInterface, request.RetryPolicy))
        {
            return errors.ToProblem();
        }

        if (request.Kind is { } kind && !string.Equals(kind, action.Kind, StringComparison.Ordinal))
        {
            errors.Add("kind", $"cannot be changed (it is '{action.Kind}'); add a new step instead");
        }

        if (request.WorkflowId is { } workflowId && workflowId != action.WorkflowId)
        {
            errors.Add("workflow_id", $"cannot be changed (it is {action.WorkflowId})");
        }

        var template = await db.ActionTemplates.AsNoTracking().FirstOrDefaultAsync(t => t.Kind == action.Kind, cancellationToken);
        if (request.TemplateId is { } templateId && templateId != action.TemplateId)
        {
            if (template is null || template.Id != templateId)
            {
                errors.Add("template_id", $"must be the template of kind '{action.Kind}'" + (template is null ? "" : $" ({template.Id})"));
            }
            else
            {
                action.TemplateId = templateId;
            }
        }

        if (request.Ordinal is < 0)
        {
            errors.Add("ordinal", "must be 0 or more");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        action.Active = request.Active ?? action.Active;
        action.Archived = request.Archived ?? action.Archived;
        var workflowActive = await db.Workflows.AnyAsync(w => w.Id == action.WorkflowId && w.Active, cancellationToken);
        var mustRun = workflowActive && action.Active && !action.Archived;
        if (request.TriggerData is { } trigger)
        {
            action.TriggerData = template is null ? Clone(trigger) : TemplateRules.Trigger(trigger, template, errors, complete: mustRun);
            FlowRules.Filter(action.TriggerData, errors);
        }
        else if (mustRun && (request.Active is true || request.Archived is false))
        {
            // A step brought back into an active workflow must be runnable as it stands.
            TemplateRules.Time(action.TriggerData, action.TriggerEventName, complete: true, errors, "trigger_data");
        }

        action.PublicName = request.PublicName ?? action.PublicName;
        action.Description = request.Description ?? action.Description;
        action.Icon = request.Icon ?? action.Icon;
        action.Ordinal = request.Ordinal ?? action.Ordinal;
        action.Precondition = request.Precondition is null ? action.Precondition : Clone(request.Precondition);
        action.CompletionConditionData = request.CompletionConditionData is null ? action.CompletionConditionData : Clone(request.CompletionConditionData);
        action.OutputInterface = request.OutputInterface is null ? action.OutputInterface : Clone(request.OutputInterface);
        if (request.RetryPolicy is not null)
        {
            action.RetryPolicy = RetryPolicyOf(request.RetryPolicy, errors);
        }

        if (request.ConfigData is { } sent)
        {
            if (template is null)
            {
                action.ConfigData = Clone(sent);
            }
            else
            {
                var schema = definitions.Schemas.For(template);
                var config = schema.KeepSecrets(sent, action.ConfigData);
                definitions.Validate(template, config, complete: mustRun, errors);
                action.ConfigData = definitions.Seal(template, config, action.ProjectId, errors);
            }
        }

        if (request.DependsOn is { } dependsOn)
        {
            action.DependsOn = [.. dependsOn];
        }

        action.Condition = request.Condition is null ? action.Condition : NonBlank(request.Condition);
        action.ElseBranch = request.ElseBranch ?? action.ElseBranch;
        action.JoinMode = request.Join ?? action.JoinMode;
        action.OnPredecessorFailure = request.OnPredecessorFailure ?? action.OnPredecessorFailure;
        if (request.Concurrency is { } concurrency)
        {
            (action.ConcurrencyKey, action.ConcurrencyLimit) = (NonBlank(concurrency.Key), concurrency.Limit);
        }

        if (request.Archived is true)
        {
            await FlowRules.ArchiveAsync(db, action, errors, cancellationToken);
        }

        if (request.DependsOn is not null || request.Condition is not null || request.ElseBranch is not null || request.TriggerData is not null
            || request.Join is not null || request.OnPredecessorFailure is not null || request.Concurrency is not null
            || request.Ordinal is not null || request.Archived is false)
        {
            await FlowRules.StepAsync(db, action, errors, cancellationToken);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (db.ChangeTracker.HasChanges())
        {
            action.TimeUpdated = time.GetUtcNow().UtcDateTime;
            // A changed expression, zone or catch-up reschedules the step in the same transaction.
            await definitions.SaveAsync(db, action.WorkflowId, action.TimeUpdated, cancellationToken);
        }

        return TypedResults.Ok(new ActionResponse(definitions.ToDto(action, template)));
    }

    private static async Task<Results<Accepted<EventAcceptedResponse>, ProblemHttpResult>> ManualTriggerAsync(
        [FromRoute(Name = "workflow_id")] long workflowId, [FromRoute(Name = "action_id")] long actionId, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, Definitions definitions, DetachedChains chains, TimeProvider time, CancellationToken cancellationToken)
    {
        WorkflowAction? action;
        Workflow? workflow;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            action = await db.Actions.AsNoTracking().FirstOrDefaultAsync(a => a.Id == actionId && a.WorkflowId == workflowId && a.ProjectId == project.Id, cancellationToken);
            workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken);
        }

        if (action is null || workflow is null)
        {
            return Problems.NotFound($"Action {actionId} of workflow {workflowId} was not found in this project.");
        }

        // Diffgram answered 200 and silently ran nothing in these cases.
        if (!workflow.Active || workflow.Archived)
        {
            return Problems.Conflict($"Workflow {workflowId} is not active: activate it first (PUT actions/workflow/update).");
        }

        if (action.Archived || !action.Active)
        {
            return Problems.Conflict($"Action {actionId} is archived or inactive.");
        }

        if (!string.Equals(action.TriggerEventName, EventKinds.ManualTrigger, StringComparison.Ordinal))
        {
            return Problems.Conflict($"Action {actionId} is triggered by '{action.TriggerEventName}', not '{EventKinds.ManualTrigger}'.");
        }

        await definitions.RefreshAsync(cancellationToken);
        var ev = new Event
        {
            Kind = EventKinds.ManualTrigger,
            ProjectId = project.Id,
            WorkflowId = workflowId,
            ActionId = actionId,
            Source = "api",
            TimeCreated = time.GetUtcNow().UtcDateTime,
            ExtraMetadata = JsonNodes.EmptyObject(),
            Payload = JsonNodes.EmptyObject(),
        };
        var result = await chains.IngestAsync(ev, cancellationToken);
        return TypedResults.Accepted((string?)null, new EventAcceptedResponse(EventDto.From(result.Event), result.TriggeredSteps, !result.Inserted));
    }

    private static async Task<Results<Ok<PreviousActionResponse>, ProblemHttpResult>> PreviousAsync(
        [FromRoute(Name = "action_id")] long actionId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, Definitions definitions,
        CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var action = await db.Actions.AsNoTracking().FirstOrDefaultAsync(a => a.Id == actionId && a.ProjectId == project.Id, cancellationToken);
        if (action is null)
        {
            return Problems.NotFound("Action", actionId);
        }

        var previous = await db.Actions.AsNoTracking()
            .Where(a => a.WorkflowId == action.WorkflowId && !a.Archived && a.Ordinal < action.Ordinal)
            .OrderByDescending(a => a.Ordinal).ThenBy(a => a.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (previous is null)
        {
            return Problems.NotFound($"Action {actionId} is the first step of its workflow: it has no previous step.");
        }

        return TypedResults.Ok(new PreviousActionResponse((await definitions.ToDtosAsync(db, [previous], cancellationToken))[0]));
    }

    private static async Task<Results<Ok<ActionRunListResponse>, ValidationProblem, ProblemHttpResult>> RunsAsync(
        [FromRoute(Name = "action_id")] long actionId, int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var paging = Paging.Read(page, pageSize, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.Actions.AnyAsync(a => a.Id == actionId && a.ProjectId == project.Id, cancellationToken))
        {
            return Problems.NotFound("Action", actionId);
        }

        var runs = await db.ActionRuns.AsNoTracking()
            .Where(r => r.ActionId == actionId && r.ProjectId == project.Id)
            .OrderByDescending(r => r.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new ActionRunListResponse(runs.Select(ActionRunDto.From).ToList()));
    }

    /// <summary>The template a new step is made from: by id, or by kind; both given must agree.</summary>
    private static async Task<ActionTemplate?> FindTemplateAsync(ActionflowDbContext db, string? kind, long? templateId, FieldErrors errors, CancellationToken cancellationToken)
    {
        ActionTemplate? template;
        if (templateId is { } id)
        {
            template = await db.ActionTemplates.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
            if (template is null)
            {
                errors.Add("template_id", $"no action template has id {id}");
                return null;
            }

            if (kind is not null && !string.Equals(kind, template.Kind, StringComparison.Ordinal))
            {
                errors.Add("kind", $"'{kind}' is not the kind of template {id} ('{template.Kind}')");
                return null;
            }
        }
        else if (!string.IsNullOrWhiteSpace(kind))
        {
            template = await db.ActionTemplates.AsNoTracking().FirstOrDefaultAsync(t => t.Kind == kind, cancellationToken);
            if (template is null)
            {
                var known = await db.ActionTemplates.Where(t => t.IsAvailable).OrderBy(t => t.Kind).Select(t => t.Kind).ToListAsync(cancellationToken);
                errors.Add("kind", $"'{kind}' is not the kind of an action template; available: {string.Join(", ", known)}");
                return null;
            }
        }
        else
        {
            errors.Add("kind", "is required (or template_id)");
            return null;
        }

        if (!template.IsAvailable)
        {
            errors.Add("kind", $"the '{template.Kind}' template is not available: no worker runs it");
            return null;
        }

        return template;
    }

    /// <summary>A step's retry overrides, checked as the engine will read them; <c>{}</c> (no overrides) is stored as null.</summary>
    private static JsonObject? RetryPolicyOf(JsonObject? sent, FieldErrors errors)
    {
        if (sent is null || sent.Count == 0)
        {
            return null;
        }

        try
        {
            RetryPolicies.Apply(RetryPolicy.Default, sent);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            errors.Add("retry_policy", ex is ArgumentOutOfRangeException range ? FirstLine(range.Message) : ex.Message);
        }

        return Clone(sent);
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0];
        var cut = line.IndexOf(" (Parameter", StringComparison.Ordinal);
        return cut > 0 ? line[..cut] : line;
    }

    private static JsonObject Clone(JsonObject value) => (JsonObject)value.DeepClone();

    /// <summary>A step's JSON fields deeper than responses can carry are refused before anything else looks at them.</summary>
    private static bool TooDeep(
        FieldErrors errors, JsonObject? triggerData, JsonObject? precondition, JsonObject? completionConditionData, JsonObject? configData,
        JsonObject? outputInterface, JsonObject? retryPolicy)
    {
        JsonDepth.Check(errors, "trigger_data", triggerData);
        JsonDepth.Check(errors, "precondition", precondition);
        JsonDepth.Check(errors, "completion_condition_data", completionConditionData);
        JsonDepth.Check(errors, "config_data", configData);
        JsonDepth.Check(errors, "output_interface", outputInterface);
        JsonDepth.Check(errors, "retry_policy", retryPolicy);
        return errors.Any;
    }

    private static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
