using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class DefinitionsVersionConfiguration : IEntityTypeConfiguration<DefinitionsVersion>
{
    public void Configure(EntityTypeBuilder<DefinitionsVersion> builder)
    {
        builder.ToTable("definitions_version");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Id).ValueGeneratedNever();
        builder.HasData(new DefinitionsVersion { Id = DefinitionsVersion.RowId, Version = 0 });
    }
}
