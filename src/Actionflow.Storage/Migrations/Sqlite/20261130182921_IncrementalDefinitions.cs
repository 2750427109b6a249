using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class IncrementalDefinitions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "definitions_version",
                table: "workflows",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "full_reload_version",
                table: "definitions_version",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.UpdateData(
                table: "definitions_version",
                keyColumn: "id",
                keyValue: 1,
                column: "full_reload_version",
                value: 0L);

            migrationBuilder.CreateIndex(
                name: "ix_workflows_definitions_version",
                table: "workflows",
                column: "definitions_version");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_workflows_definitions_version",
                table: "workflows");

            migrationBuilder.DropColumn(
                name: "definitions_version",
                table: "workflows");

            migrationBuilder.DropColumn(
                name: "full_reload_version",
                table: "definitions_version");
        }
    }
}
