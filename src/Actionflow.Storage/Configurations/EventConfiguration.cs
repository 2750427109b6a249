using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class EventConfiguration : IEntityTypeConfiguration<Event>
{
    public void Configure(EntityTypeBuilder<Event> builder)
    {
        builder.ToTable("events");
        builder.HasKey(e => e.Id);
        // Through the properties, not their fields: an event read from a message body keeps its payload and metadata as
        // the body's bytes until a getter builds the tree, so a field alone would read as null.
        builder.Property(e => e.Payload).UsePropertyAccessMode(PropertyAccessMode.Property);
        builder.Property(e => e.ExtraMetadata).UsePropertyAccessMode(PropertyAccessMode.Property);
        // Lower-case unquoted identifiers read the same on PostgreSQL and SQLite.
        builder.HasIndex(e => new { e.ProjectId, e.DedupKey }, "ix_events_project_id_dedup_key").IsUnique().HasFilter("dedup_key IS NOT NULL");
        builder.HasIndex(e => new { e.ProjectId, e.Kind, e.Id }, "ix_events_project_id_kind_id");
    }
}
