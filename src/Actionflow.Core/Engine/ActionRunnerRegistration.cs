namespace Actionflow.Core.Engine;

/// <summary>A runner type made available to the engine by <c>services.AddActionRunner&lt;T&gt;()</c>.</summary>
public sealed record ActionRunnerRegistration(Type RunnerType);
