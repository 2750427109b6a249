using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Retries : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "project_id",
                table: "dead_letters",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "retry_policy",
                table: "actions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "next_attempt_at",
                table: "action_runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "action_run_attempts",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    action_run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    started_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    finished_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", nullable: false),
                    error = table.Column<string>(type: "TEXT", nullable: true),
                    error_type = table.Column<string>(type: "TEXT", nullable: true),
                    worker_id = table.Column<string>(type: "TEXT", nullable: true),
                    next_attempt_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_action_run_attempts", x => x.id);
                    table.ForeignKey(
                        name: "fk_action_run_attempts_action_runs_action_run_id",
                        column: x => x.action_run_id,
                        principalTable: "action_runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_dead_letters_project_id_id",
                table: "dead_letters",
                columns: new[] { "project_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_status_lease_until",
                table: "action_runs",
                columns: new[] { "status", "lease_until" });

            migrationBuilder.CreateIndex(
                name: "ix_action_run_attempts_action_run_id_attempt",
                table: "action_run_attempts",
                columns: new[] { "action_run_id", "attempt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "action_run_attempts");

            migrationBuilder.DropIndex(
                name: "ix_dead_letters_project_id_id",
                table: "dead_letters");

            migrationBuilder.DropIndex(
                name: "ix_action_runs_status_lease_until",
                table: "action_runs");

            migrationBuilder.DropColumn(
                name: "project_id",
                table: "dead_letters");

            migrationBuilder.DropColumn(
                name: "retry_policy",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "next_attempt_at",
                table: "action_runs");
        }
    }
}
