using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TimeSchedulesWindowsWaits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "waited_until",
                table: "action_runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "schedules",
                columns: table => new
                {
                    action_id = table.Column<long>(type: "INTEGER", nullable: false),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_id = table.Column<long>(type: "INTEGER", nullable: false),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    cron_expression = table.Column<string>(type: "TEXT", nullable: false),
                    time_zone = table.Column<string>(type: "TEXT", nullable: false),
                    catch_up = table.Column<string>(type: "TEXT", nullable: false),
                    catch_up_max = table.Column<int>(type: "INTEGER", nullable: false),
                    next_due_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    last_scheduled_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    last_fired_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    last_event_id = table.Column<long>(type: "INTEGER", nullable: true),
                    dropped_ticks = table.Column<long>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedules", x => x.action_id);
                    table.ForeignKey(
                        name: "fk_schedules_actions_action_id",
                        column: x => x.action_id,
                        principalTable: "actions",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "window_entries",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    action_id = table.Column<long>(type: "INTEGER", nullable: false),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    window_key = table.Column<string>(type: "TEXT", nullable: false),
                    event_id = table.Column<long>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_window_entries", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "windows",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    action_id = table.Column<long>(type: "INTEGER", nullable: false),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    window_key = table.Column<string>(type: "TEXT", nullable: false),
                    mode = table.Column<string>(type: "TEXT", nullable: false),
                    opened_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    last_event_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    event_count = table.Column<int>(type: "INTEGER", nullable: false),
                    members = table.Column<string>(type: "TEXT", nullable: false),
                    close_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    version = table.Column<long>(type: "INTEGER", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_windows", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_available_at",
                table: "outbox_messages",
                column: "available_at",
                filter: "available_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_schedules_next_due_at",
                table: "schedules",
                column: "next_due_at");

            migrationBuilder.CreateIndex(
                name: "ix_schedules_workflow_id",
                table: "schedules",
                column: "workflow_id");

            migrationBuilder.CreateIndex(
                name: "ix_window_entries_action_id_window_key_id",
                table: "window_entries",
                columns: new[] { "action_id", "window_key", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_windows_action_id_window_key",
                table: "windows",
                columns: new[] { "action_id", "window_key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_windows_close_at",
                table: "windows",
                column: "close_at",
                filter: "close_at IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "schedules");

            migrationBuilder.DropTable(
                name: "window_entries");

            migrationBuilder.DropTable(
                name: "windows");

            migrationBuilder.DropIndex(
                name: "ix_outbox_messages_available_at",
                table: "outbox_messages");

            migrationBuilder.DropColumn(
                name: "waited_until",
                table: "action_runs");
        }
    }
}
