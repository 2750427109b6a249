using Actionflow.Actions.Delay;
using Actionflow.Actions.Noop;
using Actionflow.Actions.Outbound;
using Actionflow.Actions.Webhook;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class BuiltInActionsServiceCollectionExtensions
{
    /// <summary>The built-in actions (No-op, Webhook, Delay), their settings bound from <c>Actionflow:Webhooks</c>.</summary>
    public static Actionflow.Core.ActionflowBuilder AddBuiltInActions(this Actionflow.Core.ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddBuiltInActions(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Registers the built-in runners (No-op, Webhook, Delay), the guarded <c>actionflow-webhook</c> HttpClient and
    /// <see cref="WebhookOptions"/>, bound from <c>Actionflow:Webhooks</c> of <paramref name="configuration"/> when given.
    /// </summary>
    public static IServiceCollection AddBuiltInActions(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var webhookOptions = services.AddOptions<WebhookOptions>();
        if (configuration is not null)
        {
            webhookOptions.Bind(configuration.GetSection(WebhookOptions.SectionName));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HostAddresses>();

        services.AddHttpClient(WebhookAction.HttpClientName, client =>
            {
                // Each run has its own timeout from its config.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Actionflow-Webhook/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookNetworkGuard.CreateHandler(
                sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks, sp.GetRequiredService<HostAddresses>()))
            // The factory's loggers would log full URLs; WebhookAction logs host and status itself.
            .RemoveAllLoggers();

        services.AddHttpClient(OutboundHttp.ClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Actionflow/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookNetworkGuard.CreateHandler(
                sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks, sp.GetRequiredService<HostAddresses>()))
            .RemoveAllLoggers();
        services.TryAddSingleton<OutboundHttp>();

        services.AddActionRunner<NoopAction>();
        services.AddActionRunner<WebhookAction>();
        services.AddActionRunner<DelayAction>();
        services.AddActionRunner<Actionflow.Actions.Http.HttpRequestAction>();
        services.AddActionRunner<Actionflow.Actions.Transform.TransformAction>();
        services.AddActionRunner<Actionflow.Actions.Email.EmailAction>();
        return services;
    }
}
