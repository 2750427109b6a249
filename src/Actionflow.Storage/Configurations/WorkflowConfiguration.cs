using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class WorkflowConfiguration : IEntityTypeConfiguration<Workflow>
{
    public const string DefinitionsVersionProperty = "DefinitionsVersion";

    public void Configure(EntityTypeBuilder<Workflow> builder)
    {
        builder.ToTable("workflows");
        builder.HasKey(w => w.Id);
        builder.HasIndex(w => w.ProjectId, "ix_workflows_project_id");
        // The definitions version of the workflow's last change (its own or a step's): what a worker's refresher reloads.
        builder.Property<long>(DefinitionsVersionProperty);
        builder.HasIndex([DefinitionsVersionProperty], "ix_workflows_definitions_version");
    }
}
