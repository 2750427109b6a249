using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Actionflow.Storage.Configurations;

internal sealed class ScheduleConfiguration : IEntityTypeConfiguration<Schedule>
{
    public void Configure(EntityTypeBuilder<Schedule> builder)
    {
        builder.ToTable("schedules");
        builder.HasKey(s => s.ActionId);
        builder.Property(s => s.ActionId).ValueGeneratedNever();
        builder.HasOne<WorkflowAction>().WithMany().HasForeignKey(s => s.ActionId).OnDelete(DeleteBehavior.Cascade);
        // A fire moves the row on only from the due time it read: a second claim of the same tick updates nothing and rolls back.
        builder.Property(s => s.NextDueAt).IsConcurrencyToken();
        // The schedulers of every worker ask for the earliest due row, and claim the due ones in this order.
        builder.HasIndex(s => s.NextDueAt, "ix_schedules_next_due_at");
        builder.HasIndex(s => s.WorkflowId, "ix_schedules_workflow_id");
    }
}

internal sealed class StepWindowConfiguration : IEntityTypeConfiguration<StepWindow>
{
    public void Configure(EntityTypeBuilder<StepWindow> builder)
    {
        builder.ToTable("windows");
        builder.HasKey(w => w.Id);
        builder.HasIndex(w => new { w.ActionId, w.WindowKey }, "ix_windows_action_id_window_key").IsUnique();
        // A window changes only from the version it was read at (WindowStore): two workers never both close it.
        builder.Property(w => w.Version).IsConcurrencyToken();
        builder.HasIndex(w => w.CloseAt, "ix_windows_close_at").HasFilter("close_at IS NOT NULL");
    }
}

internal sealed class WindowEntryConfiguration : IEntityTypeConfiguration<WindowEntry>
{
    public void Configure(EntityTypeBuilder<WindowEntry> builder)
    {
        builder.ToTable("window_entries");
        builder.HasKey(e => e.Id);
        builder.HasIndex(e => new { e.ActionId, e.WindowKey, e.Id }, "ix_window_entries_action_id_window_key_id");
    }
}
