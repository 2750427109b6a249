using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage;

/// <summary>Hands out the provider's derived context (pooled) as the provider-neutral <see cref="ActionflowDbContext"/>.</summary>
public sealed class ActionflowDbContextFactory<TContext>(IDbContextFactory<TContext> inner) : IDbContextFactory<ActionflowDbContext>
    where TContext : ActionflowDbContext
{
    public ActionflowDbContext CreateDbContext() => inner.CreateDbContext();

    public async Task<ActionflowDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
        await inner.CreateDbContextAsync(cancellationToken);
}
