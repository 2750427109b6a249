namespace Actionflow.Core.Domain;

/// <summary>Where an event came from (<see cref="Event.Source"/>).</summary>
public static class EventSources
{
    /// <summary>Published on the events queue (Diffgram's publishers).</summary>
    public const string Amqp = "amqp";

    /// <summary>Emitted through the HTTP API.</summary>
    public const string Api = "api";

    /// <summary>Emitted by a step: its completion event or <c>action_failed</c>.</summary>
    public const string Engine = "engine";

    /// <summary>A schedule fired: a <c>time_trigger</c> event for one scheduled step.</summary>
    public const string Scheduler = "scheduler";

    /// <summary>A step's window closed (or a throttle let an event through): the event its one run is for.</summary>
    public const string Window = "window";
}
