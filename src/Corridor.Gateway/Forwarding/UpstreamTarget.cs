using System.Net.Http.Headers;
using Corridor.Core.Catalog;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// How to reach one deployment: its URLs per operation and how it wants its credential,
/// resolved once at start (the credential from the environment variable the catalog names).
/// </summary>
internal sealed class UpstreamTarget
{
    private readonly Uri _chat;
    private readonly Uri _embeddings;
    private readonly string? _credential;

    public UpstreamTarget(DeploymentEntry deployment, string? credential)
    {
        Deployment = deployment;
        _credential = credential;
        var kind = deployment.Vendor.Kind;
        Dialect = kind == VendorKind.Anthropic ? Dialect.Anthropic : Dialect.OpenAI;
        var baseUrl = deployment.BaseUrl;
        if (kind == VendorKind.AzureOpenAI)
        {
            var prefix = $"{baseUrl}/openai/deployments/{Uri.EscapeDataString(deployment.UpstreamModel)}";
            var version = $"?api-version={Uri.EscapeDataString(deployment.Vendor.ApiVersion ?? "")}";
            _chat = new Uri($"{prefix}/chat/completions{version}");
            _embeddings = new Uri($"{prefix}/embeddings{version}");
        }
        else if (kind == VendorKind.Anthropic)
        {
            _chat = new Uri($"{baseUrl}/messages");
            _embeddings = _chat;
        }
        else
        {
            _chat = new Uri($"{baseUrl}/chat/completions");
            _embeddings = new Uri($"{baseUrl}/embeddings");
        }
        AnthropicVersion = deployment.Vendor.ApiVersion ?? "2023-06-01";
    }

    public DeploymentEntry Deployment { get; }

    /// <summary>The dialect the upstream speaks.</summary>
    public Dialect Dialect { get; }

    public string AnthropicVersion { get; }

    public HttpRequestMessage CreateRequest(Operation operation, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, operation == Operation.Embeddings ? _embeddings : _chat)
        {
            Content = content,
            Version = System.Net.HttpVersion.Version11,
        };
        var headers = request.Headers;
        switch (Deployment.Vendor.Kind)
        {
            case VendorKind.Anthropic:
                if (_credential is not null)
                {
                    headers.TryAddWithoutValidation("x-api-key", _credential);
                }
                headers.TryAddWithoutValidation("anthropic-version", AnthropicVersion);
                break;
            case VendorKind.AzureOpenAI:
                if (_credential is not null)
                {
                    headers.TryAddWithoutValidation("api-key", _credential);
                }
                break;
            default:
                if (_credential is not null)
                {
                    headers.Authorization = new AuthenticationHeaderValue("Bearer", _credential);
                }
                break;
        }
        return request;
    }
}

/// <summary>Every deployment's target, built from one catalog (rebuilt when the configuration reloads).</summary>
internal sealed class UpstreamTargets
{
    private readonly Dictionary<string, UpstreamTarget> _targets;

    public UpstreamTargets(Catalog catalog, Func<string, string?> environment)
    {
        _targets = catalog.Models
            .SelectMany(m => m.Deployments)
            .ToDictionary(
                d => d.Id,
                d => new UpstreamTarget(d, d.Config.CredentialEnv is { } name ? environment(name) : null),
                StringComparer.Ordinal);
    }

    public UpstreamTarget this[DeploymentEntry deployment] => _targets[deployment.Id];

    /// <summary>Deployments whose credential variable is named but not set, as start-up errors.</summary>
    public static IEnumerable<string> MissingCredentials(Catalog catalog, Func<string, string?> environment) =>
        catalog.Models.SelectMany(m => m.Deployments)
            .Where(d => d.Config.CredentialEnv is { } name && string.IsNullOrEmpty(environment(name)))
            .Select(d => $"deployment '{d.Id}': environment variable {d.Config.CredentialEnv} (its credential) is not set");
}

/// <summary>The one pooled connection handler every upstream request goes through.</summary>
internal sealed class UpstreamClient(TimeSpan connectTimeout) : IDisposable
{
    public HttpMessageInvoker Invoker { get; } = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = connectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        MaxConnectionsPerServer = int.MaxValue,
        EnableMultipleHttp2Connections = true,
        // No DiagnosticsHandler: it made an Activity (with its tags and the redacted URL) per upstream request and sent
        // the gateway's trace context (traceparent) to vendors; nothing here traces requests (bench/README.md).
        ActivityHeadersPropagator = null,
    });

    public void Dispose() => Invoker.Dispose();
}
