using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Actionflow.Storage.Migrations.Postgres
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
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "schedules",
                columns: table => new
                {
                    action_id = table.Column<long>(type: "bigint", nullable: false),
                    project_id = table.Column<long>(type: "bigint", nullable: false),
                    workflow_id = table.Column<long>(type: "bigint", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    cron_expression = table.Column<string>(type: "text", nullable: false),
                    time_zone = table.Column<string>(type: "text", nullable: false),
                    catch_up = table.Column<string>(type: "text", nullable: false),
                    catch_up_max = table.Column<int>(type: "integer", nullable: false),
                    next_due_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    last_scheduled_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    last_fired_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    last_event_id = table.Column<long>(type: "bigint", nullable: true),
                    dropped_ticks = table.Column<long>(type: "bigint", nullable: false),
                    time_created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    time_updated = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
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
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    action_id = table.Column<long>(type: "bigint", nullable: false),
                    project_id = table.Column<long>(type: "bigint", nullable: false),
                    window_key = table.Column<string>(type: "text", nullable: false),
                    event_id = table.Column<long>(type: "bigint", nullable: false),
                    time_created = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_window_entries", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "windows",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    action_id = table.Column<long>(type: "bigint", nullable: false),
                    project_id = table.Column<long>(type: "bigint", nullable: false),
                    window_key = table.Column<string>(type: "text", nullable: false),
                    mode = table.Column<string>(type: "text", nullable: false),
                    opened_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    last_event_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    event_count = table.Column<int>(type: "integer", nullable: false),
                    members = table.Column<string>(type: "text", nullable: false),
                    close_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    time_updated = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
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
