using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ConcurrencyLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "concurrency_limit",
                table: "workflows",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "concurrency_key",
                table: "actions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "concurrency_limit",
                table: "actions",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "admitted_at",
                table: "action_runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "concurrency_key",
                table: "action_runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_concurrency",
                table: "action_runs",
                columns: new[] { "workflow_id", "status" },
                filter: "concurrency_key IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_action_runs_concurrency",
                table: "action_runs");

            migrationBuilder.DropColumn(
                name: "concurrency_limit",
                table: "workflows");

            migrationBuilder.DropColumn(
                name: "concurrency_key",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "concurrency_limit",
                table: "actions");

            migrationBuilder.DropColumn(
                name: "admitted_at",
                table: "action_runs");

            migrationBuilder.DropColumn(
                name: "concurrency_key",
                table: "action_runs");
        }
    }
}
