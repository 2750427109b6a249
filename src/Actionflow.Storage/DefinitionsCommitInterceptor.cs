using System.Data.Common;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Actionflow.Storage;

/// <summary>
/// Counts a definitions change of this process in its <see cref="DefinitionsWatch"/> once the transaction that bumped
/// the version has committed, so the next event sent here reads the version (and sees the change) even before any
/// notification arrives.
/// </summary>
internal sealed class DefinitionsCommitInterceptor(DefinitionsWatch watch) : DbTransactionInterceptor
{
    public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        Clear(eventData);
        return result;
    }

    public override ValueTask<DbTransaction> TransactionStartedAsync(
        DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        Clear(eventData);
        return ValueTask.FromResult(result);
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Count(eventData);

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Count(eventData);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Clear(eventData);

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Clear(eventData);
        return Task.CompletedTask;
    }

    private void Count(TransactionEndEventData eventData)
    {
        if (eventData.Context is ActionflowDbContext { DefinitionsBumped: true } db)
        {
            db.DefinitionsBumped = false;
            watch.Changed();
        }
    }

    private static void Clear(TransactionEndEventData eventData)
    {
        if (eventData.Context is ActionflowDbContext db)
        {
            db.DefinitionsBumped = false;
        }
    }
}
