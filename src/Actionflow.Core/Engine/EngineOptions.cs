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
    /// same way when a step ends (events accepted over HTTP too, within <see cref="DetachedChains"/>). Other steps and
    /// retries go through the actions queue, where any worker takes them. 0 sends every step through the actions queue.
    /// </summary>
    [Range(0, 256)]
    public int InProcessSteps { get; set; } = 16;

    /// <summary>
    /// How many events accepted over HTTP (or by a manual trigger) may have their steps running in this worker at once,
    /// after their 202; the steps of events past this go through the actions queue. Each such event's first
    /// <see cref="InProcessSteps"/> steps run here. 0 sends every step started over HTTP through the actions queue.
    /// </summary>
    [Range(0, 4096)]
    public int DetachedChains { get; set; } = 256;

    /// <summary>How often every worker checks whether workflow definitions changed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan DefinitionsPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest a worker's scheduler sleeps before it looks at the schedules again (it sleeps until the earliest
    /// one is due, and a change made through this process's API wakes it at once; this bounds how late a change made
    /// through another process is seen).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan SchedulerPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A tick fired within this of its time is on time under every catch-up policy; a later one was missed and the policy decides.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest the window processor sleeps before it looks for entries other workers wrote (it sleeps until the earliest window is due).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan WindowPollInterval { get; set; } = TimeSpan.FromSeconds(1);
}
