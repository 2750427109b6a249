using System.Reflection;
using Xunit;

namespace Actionflow.Storage.Tests;

public sealed class PostgresSqlTests
{
    private static string Sql(string name) =>
        (string)typeof(StorageOptions).Assembly.GetType("Actionflow.Storage.Stores.PostgresPipelineWrites")!
            .GetField(name, BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;

    [Fact]
    public void LifecycleConditions_WrittenFromTheTables_AreTheTextTheHotWritesWereBenchmarkedWith()
    {
        // The status an attempt ends from comes with the batch, one per item, not as a literal (see EndRuns).
        Assert.Contains("WHERE r.id = u.id AND r.status = u.ends_from AND r.worker_id = u.worker_id", Sql("EndRuns"), StringComparison.Ordinal);
        Assert.Equal("running", Sql("AttemptEndsFrom"));
        Assert.Contains("WHERE w.id = u.id AND w.status NOT IN ('failed', 'canceled')", Sql("UpdateWorkflowRuns"), StringComparison.Ordinal);
    }
}
