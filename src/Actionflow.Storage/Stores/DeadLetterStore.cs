using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class DeadLetterStore(IDbContextFactory<ActionflowDbContext> contextFactory) : IDeadLetterStore
{
    public async Task AddAsync(DeadLetter deadLetter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        db.DeadLetters.Add(deadLetter);
        await db.SaveChangesAsync(cancellationToken);
    }
}
