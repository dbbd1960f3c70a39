using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
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
    private readonly byte[]? _credentialBytes;
    private readonly byte[] _chatHead;
    private readonly byte[] _embeddingsHead;
    private readonly byte[]? _countTokensHead;

    public UpstreamTarget(DeploymentEntry deployment, string? credential)
    {
        Deployment = deployment;
        _credential = credential;
        _credentialBytes = string.IsNullOrEmpty(credential) ? null : Encoding.UTF8.GetBytes(credential);
        var kind = deployment.Vendor.Kind;
        Dialect = kind == VendorKind.Anthropic ? Dialect.Anthropic : Dialect.OpenAI;
        var baseUrl = deployment.BaseUrl;
        Uri? countTokens = null;
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
            countTokens = new Uri($"{baseUrl}/messages/count_tokens");
        }
        else
        {
            _chat = new Uri($"{baseUrl}/chat/completions");
            _embeddings = new Uri($"{baseUrl}/embeddings");
        }
        TakesReasoningContent = deployment.IsOpenAICompatibleServer;
        TakesThinkingSwitch = deployment.ReadsThinkingSwitch;
        AnthropicVersion = deployment.Vendor.ApiVersion ?? "2023-06-01";
        Betas = deployment.Vendor.Betas.ToFrozenSet(StringComparer.Ordinal);
        Terms = UpstreamTerms.Of(deployment);
        Endpoint = UpstreamEndpoint.Of(_chat);
        _chatHead = Head(_chat);
        _embeddingsHead = Head(_embeddings);
        _countTokensHead = countTokens is null ? null : Head(countTokens);
    }

    public DeploymentEntry Deployment { get; }

    /// <summary>The dialect the upstream speaks.</summary>
    public Dialect Dialect { get; }

    public string AnthropicVersion { get; }

    /// <summary>The <c>anthropic-beta</c> names a client may pass to this deployment (<see cref="VendorConfig.Betas"/>).</summary>
    public FrozenSet<string> Betas { get; }

    /// <summary>The service tier and inference geography every request to this deployment goes with (<see cref="UpstreamTerms"/>).</summary>
    public UpstreamTerms Terms { get; }

    /// <summary>
    /// Whether the upstream takes an assistant message's reasoning back as <c>reasoning_content</c>: an <c>openai</c>-kind
    /// vendor other than OpenAI itself (DeepSeek, which wants it back within a tool loop; vLLM and other servers;
    /// <see cref="DeploymentEntry.IsOpenAICompatibleServer"/>).
    /// </summary>
    public bool TakesReasoningContent { get; }

    /// <summary>
    /// Whether an Anthropic client's <c>thinking</c> switch goes to the upstream as DeepSeek's thinking mode reads it
    /// (<c>{"thinking":{"type":"enabled|disabled"}}</c>): an upstream that <see cref="TakesReasoningContent"/> serving a model
    /// the catalog says reasons (<see cref="DeploymentEntry.ReadsThinkingSwitch"/>). A model without <c>reasoning</c> gets no
    /// such field, which a strict server could refuse.
    /// </summary>
    public bool TakesThinkingSwitch { get; }

    /// <summary>Where this deployment's connections go.</summary>
    public UpstreamEndpoint Endpoint { get; }

    /// <summary>
    /// The request's head for <paramref name="operation"/> up to the Content-Length's value: request line, Host, the
    /// credential in the header the vendor's kind reads, and the JSON content type. Built once; the client appends the
    /// length and the body.
    /// </summary>
    public ReadOnlyMemory<byte> RequestHead(Operation operation) => operation switch
    {
        Operation.Embeddings => _embeddingsHead,
        Operation.CountTokens => _countTokensHead ?? throw new InvalidOperationException($"Deployment '{Deployment.Id}' has no token-count endpoint."),
        _ => _chatHead,
    };

    /// <summary>Whether the upstream counts a prompt's tokens itself (<c>/v1/messages/count_tokens</c>): Anthropic-kind ones do.</summary>
    public bool CountsTokens => _countTokensHead is not null;

    /// <summary>
    /// Whether <paramref name="text"/> (an upstream's error body or error event) holds this deployment's credential, as
    /// written or in a JSON string once its escapes are decoded: an upstream (or a proxy before it) that quotes the request
    /// it got in its error quotes the credential header with it, and the client must not be shown that.
    /// </summary>
    public bool QuotesCredential(ReadOnlySpan<byte> text)
    {
        if (_credentialBytes is null)
        {
            return false;
        }
        if (text.IndexOf(_credentialBytes) >= 0)
        {
            return true;
        }
        if (text.IndexOf((byte)'\\') < 0)
        {
            // No escapes: every string decodes to the bytes already searched.
            return false;
        }
        var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped
                    && reader.ValueSpan.Length >= _credentialBytes.Length && Decoded(ref reader)?.Contains(_credential!, StringComparison.Ordinal) == true)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (past this point): its bytes were searched as written.
        }
        return false;

        static string? Decoded(ref Utf8JsonReader reader)
        {
            try
            {
                return reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return null; // escapes that decode to no text (a lone surrogate)
            }
        }
    }

    private byte[] Head(Uri url)
    {
        var head = new StringBuilder();
        head.Append("POST ").Append(url.PathAndQuery).Append(" HTTP/1.1\r\nHost: ").Append(url.Authority).Append("\r\n");
        switch (Deployment.Vendor.Kind)
        {
            case VendorKind.Anthropic:
                if (_credential is not null)
                {
                    head.Append("x-api-key: ").Append(_credential).Append("\r\n");
                }
                head.Append("anthropic-version: ").Append(AnthropicVersion).Append("\r\n");
                break;
            case VendorKind.AzureOpenAI:
                if (_credential is not null)
                {
                    head.Append("api-key: ").Append(_credential).Append("\r\n");
                }
                break;
            default:
                if (_credential is not null)
                {
                    head.Append("Authorization: Bearer ").Append(_credential).Append("\r\n");
                }
                break;
        }
        head.Append("Content-Type: application/json\r\nContent-Length: ");
        return Encoding.ASCII.GetBytes(head.ToString());
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

    /// <summary>
    /// Deployments whose credential variable is named but not set, or holds what an HTTP header cannot carry (a line
    /// break would let the value write headers of its own), as start-up errors; the value itself is never repeated.
    /// </summary>
    public static IEnumerable<string> CredentialErrors(Catalog catalog, Func<string, string?> environment)
    {
        foreach (var deployment in catalog.Models.SelectMany(m => m.Deployments))
        {
            if (deployment.Config.CredentialEnv is not { } name)
            {
                continue;
            }
            var value = environment(name);
            if (string.IsNullOrEmpty(value))
            {
                yield return $"deployment '{deployment.Id}': environment variable {name} (its credential) is not set";
            }
            else if (value.Any(c => c is < ' ' or > '~'))
            {
                yield return $"deployment '{deployment.Id}': environment variable {name} (its credential) holds a control or non-ASCII character";
            }
        }
    }
}
