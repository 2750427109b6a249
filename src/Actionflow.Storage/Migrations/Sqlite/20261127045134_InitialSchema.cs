using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Actionflow.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InitialSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "action_templates",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    public_name = table.Column<string>(type: "TEXT", nullable: false),
                    description = table.Column<string>(type: "TEXT", nullable: false),
                    icon = table.Column<string>(type: "TEXT", nullable: false),
                    category = table.Column<string>(type: "TEXT", nullable: true),
                    trigger_data = table.Column<string>(type: "TEXT", nullable: false),
                    condition_data = table.Column<string>(type: "TEXT", nullable: false),
                    completion_condition_data = table.Column<string>(type: "TEXT", nullable: false),
                    config_schema = table.Column<string>(type: "TEXT", nullable: false),
                    is_available = table.Column<bool>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_action_templates", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "dead_letters",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    queue = table.Column<string>(type: "TEXT", nullable: false),
                    body = table.Column<byte[]>(type: "BLOB", nullable: false),
                    headers = table.Column<string>(type: "TEXT", nullable: true),
                    reason = table.Column<string>(type: "TEXT", nullable: false),
                    exception_type = table.Column<string>(type: "TEXT", nullable: true),
                    deliveries = table.Column<int>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_dead_letters", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "definitions_version",
                columns: table => new
                {
                    id = table.Column<int>(type: "INTEGER", nullable: false),
                    version = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_definitions_version", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "events",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    workflow_id = table.Column<long>(type: "INTEGER", nullable: true),
                    action_id = table.Column<long>(type: "INTEGER", nullable: true),
                    file_id = table.Column<long>(type: "INTEGER", nullable: true),
                    task_id = table.Column<long>(type: "INTEGER", nullable: true),
                    job_id = table.Column<long>(type: "INTEGER", nullable: true),
                    directory_id = table.Column<long>(type: "INTEGER", nullable: true),
                    input_id = table.Column<long>(type: "INTEGER", nullable: true),
                    member_id = table.Column<long>(type: "INTEGER", nullable: true),
                    description = table.Column<string>(type: "TEXT", nullable: true),
                    error_log = table.Column<string>(type: "TEXT", nullable: true),
                    extra_metadata = table.Column<string>(type: "TEXT", nullable: false),
                    payload = table.Column<string>(type: "TEXT", nullable: false),
                    source = table.Column<string>(type: "TEXT", nullable: false),
                    dedup_key = table.Column<string>(type: "TEXT", nullable: true),
                    workflow_run_id = table.Column<long>(type: "INTEGER", nullable: true),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_events", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "outbox_messages",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    queue = table.Column<string>(type: "TEXT", nullable: false),
                    body = table.Column<byte[]>(type: "BLOB", nullable: false),
                    headers = table.Column<string>(type: "TEXT", nullable: true),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    available_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    deliveries = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_outbox_messages", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "projects",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    string_id = table.Column<string>(type: "TEXT", nullable: false),
                    name = table.Column<string>(type: "TEXT", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_projects", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "workflows",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    name = table.Column<string>(type: "TEXT", nullable: false),
                    string_id = table.Column<string>(type: "TEXT", nullable: false),
                    active = table.Column<bool>(type: "INTEGER", nullable: false),
                    archived = table.Column<bool>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_workflows", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "workflow_runs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_id = table.Column<long>(type: "INTEGER", nullable: false),
                    root_event_id = table.Column<long>(type: "INTEGER", nullable: false),
                    status = table.Column<string>(type: "TEXT", nullable: false),
                    status_description = table.Column<string>(type: "TEXT", nullable: true),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_workflow_runs", x => x.id);
                    table.ForeignKey(
                        name: "fk_workflow_runs_events_root_event_id",
                        column: x => x.root_event_id,
                        principalTable: "events",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "actions",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_id = table.Column<long>(type: "INTEGER", nullable: false),
                    template_id = table.Column<long>(type: "INTEGER", nullable: true),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    public_name = table.Column<string>(type: "TEXT", nullable: false),
                    description = table.Column<string>(type: "TEXT", nullable: false),
                    icon = table.Column<string>(type: "TEXT", nullable: false),
                    ordinal = table.Column<int>(type: "INTEGER", nullable: false),
                    trigger_data = table.Column<string>(type: "TEXT", nullable: false),
                    precondition = table.Column<string>(type: "TEXT", nullable: false),
                    completion_condition_data = table.Column<string>(type: "TEXT", nullable: false),
                    config_data = table.Column<string>(type: "TEXT", nullable: false),
                    output = table.Column<string>(type: "TEXT", nullable: true),
                    output_interface = table.Column<string>(type: "TEXT", nullable: true),
                    active = table.Column<bool>(type: "INTEGER", nullable: false),
                    archived = table.Column<bool>(type: "INTEGER", nullable: false),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    time_updated = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_actions", x => x.id);
                    table.ForeignKey(
                        name: "fk_actions_workflows_workflow_id",
                        column: x => x.workflow_id,
                        principalTable: "workflows",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "action_runs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    project_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_id = table.Column<long>(type: "INTEGER", nullable: false),
                    action_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    event_id = table.Column<long>(type: "INTEGER", nullable: false),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", nullable: false),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    output = table.Column<string>(type: "TEXT", nullable: true),
                    error_reason = table.Column<string>(type: "TEXT", nullable: true),
                    error_type = table.Column<string>(type: "TEXT", nullable: true),
                    time_created = table.Column<DateTime>(type: "TEXT", nullable: false),
                    started_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    finished_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    lease_until = table.Column<DateTime>(type: "TEXT", nullable: true),
                    worker_id = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_action_runs", x => x.id);
                    table.ForeignKey(
                        name: "fk_action_runs_events_event_id",
                        column: x => x.event_id,
                        principalTable: "events",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_action_runs_workflow_runs_workflow_run_id",
                        column: x => x.workflow_run_id,
                        principalTable: "workflow_runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.InsertData(
                table: "definitions_version",
                columns: new[] { "id", "version" },
                values: new object[] { 1, 0L });

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_action_id_id",
                table: "action_runs",
                columns: new[] { "action_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_event_id_action_id",
                table: "action_runs",
                columns: new[] { "event_id", "action_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_action_runs_workflow_run_id",
                table: "action_runs",
                column: "workflow_run_id");

            migrationBuilder.CreateIndex(
                name: "ix_action_templates_kind",
                table: "action_templates",
                column: "kind",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_actions_workflow_id_ordinal",
                table: "actions",
                columns: new[] { "workflow_id", "ordinal" });

            migrationBuilder.CreateIndex(
                name: "ix_events_project_id_dedup_key",
                table: "events",
                columns: new[] { "project_id", "dedup_key" },
                unique: true,
                filter: "dedup_key IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_events_project_id_kind_id",
                table: "events",
                columns: new[] { "project_id", "kind", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_queue_id",
                table: "outbox_messages",
                columns: new[] { "queue", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_projects_string_id",
                table: "projects",
                column: "string_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_workflow_runs_root_event_id_workflow_id",
                table: "workflow_runs",
                columns: new[] { "root_event_id", "workflow_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_workflows_project_id",
                table: "workflows",
                column: "project_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "action_runs");

            migrationBuilder.DropTable(
                name: "action_templates");

            migrationBuilder.DropTable(
                name: "actions");

            migrationBuilder.DropTable(
                name: "dead_letters");

            migrationBuilder.DropTable(
                name: "definitions_version");

            migrationBuilder.DropTable(
                name: "outbox_messages");

            migrationBuilder.DropTable(
                name: "projects");

            migrationBuilder.DropTable(
                name: "workflow_runs");

            migrationBuilder.DropTable(
                name: "workflows");

            migrationBuilder.DropTable(
                name: "events");
        }
    }
}
