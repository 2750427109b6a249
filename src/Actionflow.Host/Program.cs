using Actionflow.Host;
using Actionflow.Messaging;
using Actionflow.Messaging.RabbitMq;
using Actionflow.Storage;

// The settings file ships beside the executable: root the configuration there, not at whatever folder it is started
// from (relative paths in settings, such as the data directory, stay relative to the working folder).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var settings = builder.Configuration.GetSection(ActionflowOptions.Section).Get<ActionflowOptions>() ?? new ActionflowOptions();

// Registration order is start order: the database and the engine (templates, first definitions load) start before
// the transport's consumers, and stop after them.
var actionflow = builder.Services.AddActionflow(builder.Configuration)   // engine, events and actions consumers
    .UseDatabase();                                                        // PostgreSQL, or the embedded SQLite file (Actionflow__Database)
_ = settings.UsesBroker
    ? actionflow.UseRabbitMq()                                             // Actionflow__Broker
    : actionflow.UseEmbedded();                                            // in-process durable transport (SQLite only)
actionflow
    .AddBuiltInActions()                                                   // Webhook, noop
    .AddPlugins(settings.Plugins)                                          // Actionflow__Plugins__N
    .AddHttpApi()                                                          // /api/v1, /openapi/v1.json, /scalar
    .StopAfterDraining();                                                  // SIGTERM: in-flight runs finish first
builder.Services.AddActionflowConsole(builder.Configuration, settings.DataDirectory); // the web console at /
// The console's files from the build output in every environment (a published app has them in wwwroot instead).
builder.WebHost.UseStaticWebAssets();

var app = builder.Build();
StartupChecks.Validate(app.Services, settings);
using var embeddedLock = settings.UsesBroker ? null : EmbeddedLock.Acquire(settings.DataDirectory, settings.Database);

if (args.Contains("migrate"))
{
    await app.Services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);
    return;
}

// The broker connects and declares its topology while the database migrates; its hosted service then finds it done.
var brokerStarted = app.Services.GetService<RabbitMqConnection>()?.StartAsync(CancellationToken.None) ?? Task.CompletedTask;
await app.Services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);
await brokerStarted;

app.MapActionflowApi();
app.MapActionflowConsole();
app.MapHealthEndpoints();
await app.RunAsync();

/// <summary>The entry point, visible to tests that host the application in-process.</summary>
public partial class Program;
