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
}
