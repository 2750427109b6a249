using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class FlowControl : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "condition",
                table: "actions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "depends_on",
                table: "actions",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<bool>(
                name: "else_branch",
                table: "actions",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "join_mode",
                table: "actions",
                type: "TEXT",
                nullable: false,
                defaultValue: "all");

            migrationBuilder.AddColumn<string>(
                name: "on_predecessor_failure",
                table: "actions",
                type: "TEXT",
                nullable: false,
                defaultValue: "skip");

            migrationBuilder.CreateTable(
                name: "join_states",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    action_id = table.Column<long>(type: "INTEGER", nullable: false),
                    arrived = table.Column<string>(type: "TEXT", nullable: false),
                    decision = table.Column<string>(type: "TEXT", nullable: true),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_join_states", x => x.id);
                    table.ForeignKey(
                        name: "fk_join_states_workflow_runs_workflow_run_id",
                        column: x => x.workflow_run_id,
                        principalTable: "workflow_runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_join_states_workflow_run_id_action_id",
                table: "join_states",
                columns: new[] { "workflow_run_id", "action_id" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "join_states");

            migrationBuilder.DropColumn(
                name: "condition",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "depends_on",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "else_branch",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "join_mode",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "on_predecessor_failure",
                table: "actions");
        }
    }
}
