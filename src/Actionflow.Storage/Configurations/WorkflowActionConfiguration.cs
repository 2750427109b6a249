using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class WorkflowActionConfiguration : IEntityTypeConfiguration<WorkflowAction>
{
    public void Configure(EntityTypeBuilder<WorkflowAction> builder)
    {
        builder.ToTable("actions");
        builder.HasKey(a => a.Id);
        builder.Ignore(a => a.TriggerEventName);
        builder.HasOne<Workflow>().WithMany().HasForeignKey(a => a.WorkflowId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(a => new { a.WorkflowId, a.Ordinal }, "ix_actions_workflow_id_ordinal");
    }
}
