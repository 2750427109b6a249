using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class ActionTemplateConfiguration : IEntityTypeConfiguration<ActionTemplate>
{
    public void Configure(EntityTypeBuilder<ActionTemplate> builder)
    {
        builder.ToTable("action_templates");
        builder.HasKey(t => t.Id);
        builder.HasIndex(t => t.Kind, "ix_action_templates_kind").IsUnique();
    }
}
