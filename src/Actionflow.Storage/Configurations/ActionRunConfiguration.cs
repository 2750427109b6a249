using Actionflow.Core.Domain;
using Actionflow.Storage.Conversions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class ActionRunConfiguration : IEntityTypeConfiguration<ActionRun>
{
    public void Configure(EntityTypeBuilder<ActionRun> builder)
    {
        builder.ToTable("action_runs");
        builder.HasKey(r => r.Id);
        builder.HasOne<Event>().WithMany().HasForeignKey(r => r.EventId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<WorkflowRun>().WithMany().HasForeignKey(r => r.WorkflowRunId).OnDelete(DeleteBehavior.Restrict);
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
        builder.HasOne<ActionRun>().WithMany().HasForeignKey(a => a.ActionRunId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(a => new { a.ActionRunId, a.Attempt }, "ix_action_run_attempts_action_run_id_attempt");
    }
}
