using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class ProjectSecretConfiguration : IEntityTypeConfiguration<ProjectSecret>
{
    public void Configure(EntityTypeBuilder<ProjectSecret> builder)
    {
        builder.ToTable("secrets");
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Name).HasMaxLength(64);
        builder.Property(s => s.Description).HasMaxLength(500);
        builder.Property(s => s.KeyId).HasMaxLength(16);
        builder.HasOne<Project>().WithMany().HasForeignKey(s => s.ProjectId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(s => new { s.ProjectId, s.Name }, "ix_secrets_project_id_name").IsUnique();
    }
}
