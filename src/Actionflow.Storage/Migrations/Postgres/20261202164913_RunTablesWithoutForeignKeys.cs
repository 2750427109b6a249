using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RunTablesWithoutForeignKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_action_run_attempts_action_runs_action_run_id",
                table: "action_run_attempts");

            migrationBuilder.DropForeignKey(
                name: "fk_action_runs_events_event_id",
                table: "action_runs");

            migrationBuilder.DropForeignKey(
                name: "fk_action_runs_workflow_runs_workflow_run_id",
                table: "action_runs");

            migrationBuilder.DropForeignKey(
                name: "fk_workflow_runs_events_root_event_id",
                table: "workflow_runs");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(
                name: "fk_action_run_attempts_action_runs_action_run_id",
                table: "action_run_attempts",
                column: "action_run_id",
                principalTable: "action_runs",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);

            migrationBuilder.AddForeignKey(
                name: "fk_action_runs_events_event_id",
                table: "action_runs",
                column: "event_id",
                principalTable: "events",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_action_runs_workflow_runs_workflow_run_id",
                table: "action_runs",
                column: "workflow_run_id",
                principalTable: "workflow_runs",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_workflow_runs_events_root_event_id",
                table: "workflow_runs",
                column: "root_event_id",
                principalTable: "events",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);
        }
    }
}
