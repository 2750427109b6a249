using Actionflow.Core.Engine;
using Actionflow.Messaging.RabbitMq;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Host;

internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).AllowAnonymous();
        app.MapGet("/health/ready", async (TriggerIndex index, IDbContextFactory<ActionflowDbContext> contexts, IServiceProvider services, CancellationToken cancellationToken) =>
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var database = await db.Database.CanConnectAsync(cancellationToken);
            // Only with RabbitMQ: the embedded transport has no broker to lose. IsOpen reads the connection's state, no round trip.
            bool? broker = services.GetService<RabbitMqConnection>() is { } rabbit ? rabbit.IsOpen : null;
            var ready = database && index.IsReady && broker != false;
            return Results.Json(
                new { status = ready ? "ready" : "not_ready", database, broker, definitions_loaded = index.IsReady, definitions_version = index.Version },
                statusCode: ready ? 200 : 503);
        }).AllowAnonymous();
    }
}
