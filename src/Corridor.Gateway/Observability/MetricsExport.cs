using Corridor.Gateway.Admin;
using Corridor.Gateway.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Corridor.Gateway.Observability;

/// <summary>Where the gateway's metrics and logs go: <c>/metrics</c>, OTLP when configured, and the console log's format.</summary>
internal static class MetricsExport
{
    /// <summary>The .NET runtime's own meter (GC, memory, thread pool, exceptions), read only when scraped.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    public static void AddObservability(this IServiceCollection services, ObservabilityOptions options)
    {
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton(sp =>
        {
            var meter = sp.GetRequiredService<GatewayMetrics>().Meter;
            // This gateway's meter only (tests run several in one process), and the process-wide runtime meter.
            return new PrometheusExporter(instrument => ReferenceEquals(instrument.Meter, meter) || instrument.Meter.Name == RuntimeMeterName);
        });
        if (options.OtlpEndpoint is { } endpoint)
        {
            services.AddSingleton(sp =>
            {
                // Made before the provider, so the provider sees the meter's instruments when it starts listening.
                sp.GetRequiredService<GatewayMetrics>();
                return Sdk.CreateMeterProviderBuilder()
                    .ConfigureResource(resource => resource.AddService("corridor"))
                    .AddMeter(GatewayMetrics.MeterName)
                    .AddOtlpExporter((exporter, reader) =>
                    {
                        var http = options.OtlpProtocol == "http/protobuf";
                        exporter.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        // Set in code, the HTTP exporter posts to the URL as given; the standard signal path is added for a bare host.
                        exporter.Endpoint = http && endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/metrics") : endpoint;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.EffectiveOtlpExportInterval.TotalMilliseconds;
                        reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                    })
                    .Build();
            });
        }
    }

    /// <summary>Text lines on a terminal; one JSON object per line otherwise (or when <c>observability.logFormat</c> says so).</summary>
    public static void AddConsoleLog(this ILoggingBuilder logging, ObservabilityOptions options)
    {
        if (options.JsonLogs)
        {
            logging.AddJsonConsole(json =>
            {
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                json.IncludeScopes = false;
            });
        }
        else
        {
            logging.AddSimpleConsole(o => o.SingleLine = true);
        }
    }

    /// <summary>Starts what must run from the start: the scrape listener and, when configured, the OTLP exporter.</summary>
    public static void StartObservability(this WebApplication app)
    {
        app.Services.GetRequiredService<PrometheusExporter>();
        app.Services.GetService<MeterProvider>();
        var server = app.Services.GetRequiredService<ServerOptions>();
        var tokens = app.Services.GetRequiredService<OperatorTokens>();
        app.MapGet("/metrics", (HttpContext context) =>
        {
            // Per-model traffic, errors, policy refusals and monitor levels are the operator's, and this is the port
            // customers reach: a scraper presents the metrics token (or the admin token), as the admin API's callers do.
            if (tokens.Admin is null && tokens.Metrics is null)
            {
                return AdminApi.Problem(StatusCodes.Status503ServiceUnavailable, $"/metrics is off: set {server.MetricsTokenEnv} (or {server.AdminTokenEnv}).").ExecuteAsync(context);
            }
            if (!tokens.MayScrape(context.Request))
            {
                return AdminApi.Problem(StatusCodes.Status401Unauthorized, "A valid metrics or admin token is required (Authorization: Bearer TOKEN).").ExecuteAsync(context);
            }
            var text = context.RequestServices.GetRequiredService<PrometheusExporter>().Scrape();
            context.Response.ContentType = PrometheusExporter.ContentType;
            context.Response.Headers.CacheControl = "no-store";
            return context.Response.WriteAsync(text, context.RequestAborted);
        });
        app.MapGet("/readyz", ReadinessEndpoint.InvokeAsync);
    }
}
