using System.Text.Json.Serialization;
using Actionflow.Core.Domain;

namespace Actionflow.Api.Contracts;

/// <summary>
/// What the credentials of this request are: the installation admin token (or this start's setup token), or one API
/// key with its project and role.
/// </summary>
public sealed record WhoAmIResponse(bool InstallationAdmin, bool SetupToken, ProjectDto? Project, string? Role, string? ClientId);

public sealed record ProjectListResponse(IReadOnlyList<ProjectDto> ProjectList);

/// <summary>A workflow as a list shows it: its state, number of steps, its last run and how many runs started in the last 24 hours.</summary>
public sealed record WorkflowSummaryDto(
    long Id,
    string StringId,
    string Name,
    bool Active,
    bool Archived,
    DateTime TimeCreated,
    DateTime TimeUpdated,
    int StepCount,
    WorkflowRunStatus? LastRunStatus,
    DateTime? LastRunAt,
    [property: JsonPropertyName("runs_last_24h")] int RunsLast24h);

public sealed record WorkflowSummaryListResponse(IReadOnlyList<WorkflowSummaryDto> WorkflowList);

/// <summary>One page of a run search, newest first, and how many runs match in all.</summary>
public sealed record WorkflowRunPageResponse(IReadOnlyList<WorkflowRunDto> WorkflowRunList, int TotalCount, int Page, int PageSize);

/// <summary>Runs started in one interval, by status (only statuses with runs are present).</summary>
public sealed record RunCountBucketDto(DateTime Start, IReadOnlyDictionary<string, int> Counts);

/// <summary>Runs over time: <c>bucket</c> is <c>hour</c> or <c>day</c>; every interval from <c>from</c> to <c>to</c> is present.</summary>
public sealed record RunCountsResponse(DateTime From, DateTime To, string Bucket, IReadOnlyList<RunCountBucketDto> Buckets);

public sealed record EventResponse(EventDto Event);
