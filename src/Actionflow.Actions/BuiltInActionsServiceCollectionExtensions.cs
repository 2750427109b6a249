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
    /// <summary>The built-in actions, their settings bound from <c>Actionflow:Webhooks</c> and <c>Actionflow:HuggingFace</c>.</summary>
    public static Actionflow.Core.ActionflowBuilder AddBuiltInActions(this Actionflow.Core.ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddBuiltInActions(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Registers the built-in runners (noop, Webhook, delay, http_request, transform, email, hf_zero_shot, azure_sentiment,
    /// export), the guarded HttpClients and their options, bound from <paramref name="configuration"/> when given.
    /// </summary>
    public static IServiceCollection AddBuiltInActions(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var webhookOptions = services.AddOptions<WebhookOptions>();
        var huggingFaceOptions = services.AddOptions<Actionflow.Actions.HuggingFace.HuggingFaceOptions>();
        if (configuration is not null)
        {
            webhookOptions.Bind(configuration.GetSection(WebhookOptions.SectionName));
            huggingFaceOptions.Bind(configuration.GetSection(Actionflow.Actions.HuggingFace.HuggingFaceOptions.SectionName));
        }

        huggingFaceOptions
            .Validate(o => Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp),
                "Actionflow:HuggingFace:BaseUrl must be an absolute http or https URL")
            .ValidateOnStart();

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
        services.AddActionRunner<Actionflow.Actions.HuggingFace.HuggingFaceZeroShotAction>();
        services.AddActionRunner<Actionflow.Actions.Azure.AzureSentimentAction>();
        services.AddActionRunner<Actionflow.Actions.Export.ExportAction>();
        return services;
    }
}
