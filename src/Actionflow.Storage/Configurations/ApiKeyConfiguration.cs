using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.ClientId).HasMaxLength(100);
        builder.HasOne<Project>().WithMany().HasForeignKey(k => k.ProjectId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(k => k.ClientId, "ix_api_keys_client_id").IsUnique();
        // Bearer requests carry only the secret: the key is found by the hash of it.
        builder.HasIndex(k => k.SecretHash, "ix_api_keys_secret_hash").IsUnique();
        builder.HasIndex(k => k.ProjectId, "ix_api_keys_project_id");
    }
}
