using Actionflow.Core.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Actionflow.Messaging.Tests.Infrastructure;

/// <summary>A generic host with the messaging module, the given handlers and xunit logging.</summary>
public static class MessagingHost
{
    public static IHost Build(ITestOutputHelper output, Action<IServiceCollection> configure)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(new XunitLoggerProvider(output));
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(60));
        configure(builder.Services);
        return builder.Build();
    }

    public static IHost RabbitMq(ITestOutputHelper output, MessagingOptions options, params IMessageHandler[] handlers) =>
        Build(output, services =>
        {
            foreach (var handler in handlers)
            {
                services.AddSingleton(handler);
            }

            services.AddRabbitMqMessaging(options);
        });
}
