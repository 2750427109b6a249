using Actionflow.Storage.Tests.Infrastructure;
using Xunit;

namespace Actionflow.Storage.Tests;

// Every store test runs once per provider: SQLite on a temporary file, PostgreSQL from ACTIONFLOW_TEST_POSTGRES.
public sealed class MigrationSqliteTests(SqliteHost host) : MigrationTests(host), IClassFixture<SqliteHost>;

public sealed class MigrationPostgresTests(PostgresHost host) : MigrationTests(host), IClassFixture<PostgresHost>;

public sealed class PipelineStoreSqliteTests(SqliteHost host) : PipelineStoreTests(host), IClassFixture<SqliteHost>;

public sealed class PipelineStorePostgresTests(PostgresHost host) : PipelineStoreTests(host), IClassFixture<PostgresHost>;

public sealed class RunClaimSqliteTests(SqliteHost host) : RunClaimTests(host), IClassFixture<SqliteHost>;

public sealed class RunClaimPostgresTests(PostgresHost host) : RunClaimTests(host), IClassFixture<PostgresHost>;

public sealed class DefinitionSourceSqliteTests(SqliteHost host) : DefinitionSourceTests(host), IClassFixture<SqliteHost>;

public sealed class DefinitionSourcePostgresTests(PostgresHost host) : DefinitionSourceTests(host), IClassFixture<PostgresHost>;

public sealed class TemplateStoreSqliteTests(SqliteHost host) : TemplateStoreTests(host), IClassFixture<SqliteHost>;

public sealed class TemplateStorePostgresTests(PostgresHost host) : TemplateStoreTests(host), IClassFixture<PostgresHost>;

public sealed class OutboxStoreSqliteTests(SqliteHost host) : OutboxStoreTests(host), IClassFixture<SqliteHost>;

public sealed class OutboxStorePostgresTests(PostgresHost host) : OutboxStoreTests(host), IClassFixture<PostgresHost>;

public sealed class EmbeddedQueueStoreSqliteTests(SqliteHost host) : EmbeddedQueueStoreTests(host), IClassFixture<SqliteHost>;

public sealed class EmbeddedQueueStorePostgresTests(PostgresHost host) : EmbeddedQueueStoreTests(host), IClassFixture<PostgresHost>;

public sealed class RunControlSqliteTests(SqliteHost host) : RunControlTests(host), IClassFixture<SqliteHost>;

public sealed class RunControlPostgresTests(PostgresHost host) : RunControlTests(host), IClassFixture<PostgresHost>;

public sealed class ConcurrencyStoreSqliteTests(SqliteHost host) : ConcurrencyStoreTests(host), IClassFixture<SqliteHost>;

public sealed class ConcurrencyStorePostgresTests(PostgresHost host) : ConcurrencyStoreTests(host), IClassFixture<PostgresHost>;
