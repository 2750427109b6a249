using Actionflow.Core.Domain;
using Actionflow.Storage.Conversions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

/// <remarks>
/// The run tables (<c>events</c>, <c>workflow_runs</c>, <c>action_runs</c>, <c>action_run_attempts</c>) carry no foreign
/// keys between them. Every write of a child row is made only with its parent there: PostgreSQL's hot statements write
/// a run, workflow run, attempt or emitted event only if the event or run it hangs on was written or ended by the same
/// statement or transaction (<c>PostgresPipelineWrites</c>), the other writes add a row in the transaction that read or
/// wrote its parent, and nothing deletes from these tables. A foreign key checked every inserted row once more with a
/// query of its own on the parent (<c>SELECT ... FOR KEY SHARE</c>): four per one-step event, about a sixth of
/// PostgreSQL's CPU flat out (bench/README.md, "Round 13"). The indexes the lookups by parent need are declared here.
/// </remarks>
internal sealed class ActionRunConfiguration : IEntityTypeConfiguration<ActionRun>
{
    public void Configure(EntityTypeBuilder<ActionRun> builder)
    {
        builder.ToTable("action_runs");
        builder.HasKey(r => r.Id);
        // No foreign keys to the event or the workflow run (see the remarks above).
        builder.HasIndex(r => new { r.EventId, r.ActionId }, "ix_action_runs_event_id_action_id").IsUnique();
        builder.HasIndex(r => new { r.ActionId, r.Id }, "ix_action_runs_action_id_id");
        builder.HasIndex(r => r.WorkflowRunId, "ix_action_runs_workflow_run_id");
        // The lease sweep's index: only running runs are in it, by lease. Not an index on the status: running runs are a
        // small, moving set that statistics taken between two bursts see as none, and an index on the status let the
        // planner read every run of a status to filter it instead of probing a run's key (bench/README.md, "Round 12").
        builder.HasIndex(r => r.LeaseUntil, "ix_action_runs_running_lease_until")
            .HasFilter($"status = '{EnumNames.ToDatabase(ActionRunStatus.Running)}'");
        // Only runs under a concurrency limit carry a key: the index costs the other runs' writes nothing.
        builder.HasIndex(r => new { r.WorkflowId, r.Status }, "ix_action_runs_concurrency").HasFilter("concurrency_key IS NOT NULL");
    }
}

internal sealed class ActionRunAttemptConfiguration : IEntityTypeConfiguration<ActionRunAttempt>
{
    public void Configure(EntityTypeBuilder<ActionRunAttempt> builder)
    {
        builder.ToTable("action_run_attempts");
        builder.HasKey(a => a.Id);
        // No foreign key to the run (see ActionRunConfiguration).
        builder.HasIndex(a => new { a.ActionRunId, a.Attempt }, "ix_action_run_attempts_action_run_id_attempt");
    }
}
