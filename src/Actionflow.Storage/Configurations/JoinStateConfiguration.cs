using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class JoinStateConfiguration : IEntityTypeConfiguration<JoinState>
{
    public void Configure(EntityTypeBuilder<JoinState> builder)
    {
        builder.ToTable("join_states");
        builder.HasKey(j => j.Id);
        // One row per join per workflow run: every arrival upserts it under its lock, so the join is decided once.
        builder.HasIndex(j => new { j.WorkflowRunId, j.ActionId }, "ix_join_states_workflow_run_id_action_id").IsUnique();
        builder.HasOne<WorkflowRun>().WithMany().HasForeignKey(j => j.WorkflowRunId).OnDelete(DeleteBehavior.Cascade);
    }
}
