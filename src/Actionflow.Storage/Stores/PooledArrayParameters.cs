using System.Buffers;
using Npgsql;
using NpgsqlTypes;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The array parameters of the pipeline writes, kept between batches. A parameter's type is resolved by Npgsql once
/// and kept while values of the same CLR type are assigned to it, so a kept parameter skips that resolution (the type
/// name strings and lookups of every parameter of every batch) as well as its own allocation. A parameter is rented
/// per column when a batch is built, gets its values then, and goes back only after its batch was read to the end; it
/// goes back holding an empty array of its type, never the batch's values.
/// </summary>
internal static class PooledArrayParameters
{
    // Enough for several flushes at once of the widest statement; what is beyond is left to the collector.
    private const int KeptPerShape = 256;

    /// <summary>A parameter of <typeparamref name="T"/>[] as <see cref="NpgsqlDbType.Array"/> of <paramref name="elementType"/>, holding <paramref name="values"/>.</summary>
    public static NpgsqlParameter Rent<T>(T[] values, NpgsqlDbType elementType) => Shape<T>.For(elementType).Rent(values);

    /// <summary>
    /// As <see cref="Rent{T}"/>, for values that are slices of <paramref name="pooled"/> (rented from
    /// <see cref="ArrayPool{T}.Shared"/>): the buffer goes back to that pool when the parameter goes back.
    /// </summary>
    public static NpgsqlParameter Rent(ReadOnlyMemory<byte>?[] values, byte[] pooled, NpgsqlDbType elementType)
    {
        var parameter = Shape<ReadOnlyMemory<byte>?>.For(elementType).Rent(values);
        parameter.Pooled = pooled;
        return parameter;
    }

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

    private sealed class Kept<T>(Shape<T> shape) : Kept
    {
        /// <summary>The buffer the values are slices of, if they are; returned to the array pool with the parameter.</summary>
        public byte[]? Pooled { get; set; }

        public override void GoBack()
        {
            if (Pooled is { } pooled)
            {
                Pooled = null;
                ArrayPool<byte>.Shared.Return(pooled);
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

        public Kept<T> Rent(T[] values)
        {
            Kept<T>? parameter;
            lock (freeLock)
            {
                free.TryPop(out parameter);
            }

            parameter ??= new Kept<T>(this) { NpgsqlDbType = NpgsqlDbType.Array | elementType };
            parameter.Value = values;
            return parameter;
        }

        public void Return(Kept<T> parameter)
        {
            // An empty array of the same type: the batch's rows are not kept alive, and the type stays resolved.
            parameter.Value = Array.Empty<T>();
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
