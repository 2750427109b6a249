using System.Buffers;
using Npgsql;
using NpgsqlTypes;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The array parameters of the pipeline writes, kept between batches with the list that holds their values. A
/// parameter's type is resolved by Npgsql once and kept while values of the same CLR type are assigned to it, so a kept
/// parameter skips that resolution (the type name strings and lookups of every parameter of every batch) as well as its
/// own allocation; its list, filled per batch and cleared when it goes back, spares an array per column per batch. A
/// parameter is rented per column when a batch is built, gets its values then, and goes back only after its batch was
/// read to the end; it goes back empty, never holding the batch's values.
/// </summary>
internal static class PooledArrayParameters
{
    // Enough for several flushes at once of the widest statement; what is beyond is left to the collector.
    private const int KeptPerShape = 256;

    /// <summary>
    /// A parameter of a <c>List&lt;T&gt;</c> as <see cref="NpgsqlDbType.Array"/> of <paramref name="elementType"/>;
    /// <paramref name="values"/> is that list, empty, for the caller to fill before the batch runs.
    /// </summary>
    public static NpgsqlParameter Rent<T>(NpgsqlDbType elementType, out List<T> values)
    {
        var parameter = Shape<T>.For(elementType).Rent();
        values = parameter.Values;
        return parameter;
    }

    /// <summary>
    /// For a parameter whose values are slices of <paramref name="pooled"/> (rented from <see cref="ArrayPool{T}.Shared"/>):
    /// that buffer goes back to the pool when the parameter goes back.
    /// </summary>
    public static void Own(NpgsqlParameter parameter, byte[] pooled) => ((Kept<ReadOnlyMemory<byte>?>)parameter).Pooled = pooled;

    /// <summary>
    /// Takes the kept parameters off every statement of <paramref name="batch"/> and keeps them for the next batch. Only
    /// once the batch's reader is closed: until then Npgsql may still be writing them. A batch that failed is not
    /// returned (its parameters are left to the collector).
    /// </summary>
    public static void Return(NpgsqlBatch batch)
    {
        // By index: the collection's enumerator would be one more allocation per batch.
        var commands = batch.BatchCommands;
        for (var c = 0; c < commands.Count; c++)
        {
            var parameters = commands[c].Parameters;
            for (var i = parameters.Count - 1; i >= 0; i--)
            {
                var parameter = parameters[i];
                parameters.RemoveAt(i);
                (parameter as Kept)?.GoBack();
            }
        }
    }

    private abstract class Kept : NpgsqlParameter
    {
        public abstract void GoBack();
    }

    private sealed class Kept<T> : Kept
    {
        // A list grown past this by one big batch is not kept at that size: the next batch starts a new one.
        private const int KeptCapacity = 4096;
        private readonly Shape<T> shape;

        public Kept(Shape<T> shape, NpgsqlDbType elementType)
        {
            this.shape = shape;
            NpgsqlDbType = NpgsqlDbType.Array | elementType;
            Value = Values;
        }

        /// <summary>The values of the batch the parameter is rented to; the parameter's <see cref="NpgsqlParameter.Value"/>.</summary>
        public List<T> Values { get; private set; } = [];

        /// <summary>The buffer the values are slices of, if they are; returned to the array pool with the parameter.</summary>
        public byte[]? Pooled { get; set; }

        public override void GoBack()
        {
            if (Pooled is { } pooled)
            {
                Pooled = null;
                ArrayPool<byte>.Shared.Return(pooled);
            }

            // Emptied, so the batch's rows are not kept alive; the value stays a List<T>, so the type stays resolved.
            if (Values.Capacity > KeptCapacity)
            {
                Values = [];
                Value = Values;
            }
            else
            {
                Values.Clear();
            }

            shape.Return(this);
        }
    }

    /// <summary>The kept parameters of one CLR element type and one database element type.</summary>
    private sealed class Shape<T>(NpgsqlDbType elementType)
    {
        private readonly NpgsqlDbType elementType = elementType;
        private static Shape<T>[] shapes = [];
        private static readonly Lock ShapesLock = new();

        private readonly Stack<Kept<T>> free = new();
        private readonly Lock freeLock = new();

        public static Shape<T> For(NpgsqlDbType elementType)
        {
            foreach (var shape in Volatile.Read(ref shapes))
            {
                if (shape.elementType == elementType)
                {
                    return shape;
                }
            }

            lock (ShapesLock)
            {
                var current = shapes;
                foreach (var shape in current)
                {
                    if (shape.elementType == elementType)
                    {
                        return shape;
                    }
                }

                var added = new Shape<T>(elementType);
                Volatile.Write(ref shapes, [.. current, added]);
                return added;
            }
        }

        public Kept<T> Rent()
        {
            Kept<T>? parameter;
            lock (freeLock)
            {
                free.TryPop(out parameter);
            }

            return parameter ?? new Kept<T>(this, elementType);
        }

        public void Return(Kept<T> parameter)
        {
            lock (freeLock)
            {
                if (free.Count < KeptPerShape)
                {
                    free.Push(parameter);
                }
            }
        }
    }
}
