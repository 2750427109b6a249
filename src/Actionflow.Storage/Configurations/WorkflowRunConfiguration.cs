using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class WorkflowRunConfiguration : IEntityTypeConfiguration<WorkflowRun>
{
    public void Configure(EntityTypeBuilder<WorkflowRun> builder)
    {
        builder.ToTable("workflow_runs");
        builder.HasKey(r => r.Id);
        builder.HasOne<Event>().WithMany().HasForeignKey(r => r.RootEventId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(r => new { r.RootEventId, r.WorkflowId }, "ix_workflow_runs_root_event_id_workflow_id").IsUnique();
    }
}
