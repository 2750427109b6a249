using System.ComponentModel.DataAnnotations;

namespace Actionflow.Core.Engine;

public sealed class EngineOptions
{
    /// <summary>Identifies this process on the runs it holds. Unique per process start.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>How long a claimed run stays held without renewal; a dead worker's run is taken over after it.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How many of the steps one event starts the worker that accepted it from the broker runs itself, at once, with no
    /// trigger message: their runs are recorded running under its lease with the event, and a chain's next steps the
    /// same way when a step ends. Other steps, retries, and steps started over HTTP go through the actions queue, where
    /// any worker takes them. 0 sends every step through the actions queue.
    /// </summary>
    [Range(0, 256)]
    public int InProcessSteps { get; set; } = 16;

    /// <summary>How often every worker checks whether workflow definitions changed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan DefinitionsPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
