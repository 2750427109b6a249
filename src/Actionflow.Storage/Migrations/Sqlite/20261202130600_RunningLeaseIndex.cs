using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RunningLeaseIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_action_runs_status_lease_until",
                table: "action_runs");

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_running_lease_until",
                table: "action_runs",
                column: "lease_until",
                filter: "status = 'running'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_action_runs_running_lease_until",
                table: "action_runs");

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_status_lease_until",
                table: "action_runs",
                columns: new[] { "status", "lease_until" });
        }
    }
}
