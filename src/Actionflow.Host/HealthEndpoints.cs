using Actionflow.Core.Engine;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Host;

internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        app.MapGet("/health/ready", async (TriggerIndex index, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken) =>
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var database = await db.Database.CanConnectAsync(cancellationToken);
            var ready = database && index.IsReady;
            return Results.Json(new { status = ready ? "ready" : "not_ready", database, definitions_loaded = index.IsReady }, statusCode: ready ? 200 : 503);
        });
    }
}
