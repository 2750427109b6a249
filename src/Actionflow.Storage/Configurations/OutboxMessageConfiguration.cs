using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class OutboxMessageConfiguration : IEntityTypeConfiguration<OutboxMessage>
{
    public void Configure(EntityTypeBuilder<OutboxMessage> builder)
    {
        builder.ToTable("outbox_messages");
        builder.HasKey(m => m.Id);
        builder.HasIndex(m => new { m.Queue, m.Id }, "ix_outbox_messages_queue_id");
        // Hidden rows (delayed retries, waits' ends, leased embedded messages): the pollers ask for the next one to fall due.
        builder.HasIndex(m => m.AvailableAt, "ix_outbox_messages_available_at").HasFilter("available_at IS NOT NULL");
    }
}
