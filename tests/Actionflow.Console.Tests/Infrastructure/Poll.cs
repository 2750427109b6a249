namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>Reads through the API until what a test waits for is observed, or fails saying what never happened.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(45));
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within {(timeout ?? TimeSpan.FromSeconds(45)).TotalSeconds:0} s; last read: {value}");
            }

            await Task.Delay(200);
        }
    }
}
