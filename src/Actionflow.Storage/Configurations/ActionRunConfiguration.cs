using Actionflow.Core.Domain;
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
        builder.HasIndex(r => new { r.Status, r.LeaseUntil }, "ix_action_runs_status_lease_until");
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
