using Actionflow.Host;
using Actionflow.Messaging;
using Actionflow.Storage;

// The settings file ships beside the executable: root the configuration there, not at whatever folder it is started
// from (relative paths in settings, such as the data directory, stay relative to the working folder).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var settings = builder.Configuration.GetSection(ActionflowOptions.Section).Get<ActionflowOptions>() ?? new ActionflowOptions();
var embeddedBroker = string.IsNullOrWhiteSpace(settings.Broker);

builder.Services.AddActionflowStorage(new StorageOptions { ConnectionString = settings.Database, DataDirectory = settings.DataDirectory });
// Before the transport: hosted services start in this order (templates and definitions load before any consumer)
// and stop in reverse (consumers drain before the lease keeper stops).
builder.Services.AddActionflowEngine(o => builder.Configuration.GetSection("Actionflow:Engine").Bind(o));
// Transport settings sit beside Broker in the same section: Actionflow__Concurrency, Actionflow__EventsQueue, ...
var messaging = builder.Configuration.GetSection(ActionflowOptions.Section).Get<MessagingOptions>() ?? new MessagingOptions();
if (embeddedBroker)
{
    builder.Services.AddEmbeddedMessaging(messaging);
}
else
{
    builder.Services.AddRabbitMqMessaging(messaging);
    builder.Services.AddRabbitMqDeadLetterArchive();
}

builder.Services.AddEventHandlers();
builder.Services.AddBuiltInActions(builder.Configuration);
foreach (var runner in PluginLoader.Load(settings.Plugins))
{
    builder.Services.AddActionRunner(runner);
}

builder.Services.AddActionflowApi(builder.Configuration);
builder.Services.AddActionflowConsole(builder.Configuration, settings.DataDirectory);
// The console's files from the build output in every environment (a published app has them in wwwroot instead).
builder.WebHost.UseStaticWebAssets();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = messaging.ShutdownGracePeriod + TimeSpan.FromSeconds(10));

var app = builder.Build();
StartupChecks.Validate(app.Services, settings, embeddedBroker);
using var embeddedLock = embeddedBroker ? EmbeddedLock.Acquire(settings.DataDirectory, settings.Database) : null;

await app.Services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);
if (args.Contains("migrate"))
{
    return;
}

app.MapActionflowApi();
app.MapActionflowConsole();
app.MapHealthEndpoints();
await app.RunAsync();

/// <summary>The entry point, visible to tests that host the application in-process.</summary>
public partial class Program;
