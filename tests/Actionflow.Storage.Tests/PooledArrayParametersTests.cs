using Actionflow.Storage.Stores;
using Npgsql;
using NpgsqlTypes;

namespace Actionflow.Storage.Tests;

/// <summary>
/// The kept array parameters: a batch's values never outlive it, the next batch gets an empty list of the same type,
/// and one huge batch does not pin its list. Shapes here use <c>short</c>/<c>smallint</c>, which the pipeline's writes do
/// not, so tests running at the same time cannot take these parameters.
/// </summary>
public sealed class PooledArrayParametersTests
{
    [Fact]
    public void Return_TheParameterGoesBackEmptyAndComesBackWithTheSameListForTheNextBatch()
    {
        var parameter = PooledArrayParameters.Rent<short>(NpgsqlDbType.Smallint, out var values);
        values.AddRange([1, 2, 3]);
        Assert.Same(values, parameter.Value);
        Assert.Equal(NpgsqlDbType.Array | NpgsqlDbType.Smallint, parameter.NpgsqlDbType);

        using var batch = new NpgsqlBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT unnest($1)") { Parameters = { parameter } });
        PooledArrayParameters.Return(batch);

        Assert.Empty(batch.BatchCommands[0].Parameters);
        Assert.Empty(values);

        var again = PooledArrayParameters.Rent<short>(NpgsqlDbType.Smallint, out var next);
        Assert.Same(parameter, again);
        Assert.Same(values, next);
        Assert.Empty(next);
        Assert.Same(next, again.Value);
    }

    [Fact]
    public void Return_AListGrownByAHugeBatchIsNotKeptAtThatSize()
    {
        var parameter = PooledArrayParameters.Rent<short?>(NpgsqlDbType.Smallint, out var values);
        values.AddRange(Enumerable.Repeat<short?>(7, 100_000));

        using var batch = new NpgsqlBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT unnest($1)") { Parameters = { parameter } });
        PooledArrayParameters.Return(batch);

        var again = PooledArrayParameters.Rent<short?>(NpgsqlDbType.Smallint, out var next);
        Assert.Same(parameter, again);
        Assert.NotSame(values, next);
        Assert.Empty(next);
        Assert.True(next.Capacity < 100_000);
        Assert.Same(next, again.Value);
    }
}
