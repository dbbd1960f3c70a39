namespace Corridor.Core.Catalog;

/// <summary>How a vendor's API is spoken on the wire.</summary>
public enum VendorKind
{
    OpenAI,
    AzureOpenAI,
    Anthropic,
}

[Flags]
public enum ModelCapabilities
{
    None = 0,
    Chat = 1,
    Embeddings = 2,
    Tools = 4,
    Vision = 8,
    Reasoning = 16,
}

/// <summary>
/// What a vendor is told of the end user a request is for: OpenAI's <c>safety_identifier</c> (<c>user</c> on Azure and
/// other OpenAI-compatible servers), Anthropic's <c>metadata.user_id</c>, which the vendors' abuse monitoring reads.
/// </summary>
public enum EndUserId
{
    /// <summary>The client's own, as it sent it (or none).</summary>
    Client,

    /// <summary>The tenant's id, in place of the client's: the vendor can tell the platform's customers apart, and no customer can pass for another.</summary>
    Tenant,

    /// <summary>The tenant's id and the key's (<c>tenant/key</c>), in place of the client's.</summary>
    Key,

    /// <summary>None: the client's is taken out, and nothing is sent.</summary>
    None,
}

/// <summary>A maker of models and the API it speaks. <paramref name="BaseUrl"/> includes the version path (<c>https://api.openai.com/v1</c>).</summary>
public sealed record VendorConfig(string Id, VendorKind Kind, string BaseUrl, string? ApiVersion = null)
{
    /// <summary>
    /// Whether Corridor sends its reasoning models DeepSeek's thinking switch (<c>{"thinking":{"type":"enabled|disabled"}}</c>):
    /// null (the default) where the vendor is an OpenAI-compatible server other than OpenAI's own API
    /// (<see cref="DeploymentEntry.IsOpenAICompatibleServer"/>); false for a strict server that refuses a field it does not
    /// know. Only such a server may say true.
    /// </summary>
    public bool? ThinkingSwitch { get; init; }

    /// <summary>
    /// The <c>anthropic-beta</c> names an Anthropic client's request may pass to this vendor's deployments (an
    /// <c>anthropic</c>-kind vendor only); a beta not listed is left out of the request. None by default: a beta can change
    /// what the vendor charges, reach out of its service or keep data there, which the price book, policy and tenant
    /// isolation do not cover, so the operator enables each.
    /// </summary>
    public IReadOnlyList<string> Betas { get; init; } = [];

    /// <summary>What this vendor is told of the end user each request is for (<see cref="Corridor.Core.Catalog.EndUserId"/>); the client's own by default.</summary>
    public EndUserId EndUserId { get; init; }

    /// <summary>
    /// Whether this <c>anthropic</c>-kind vendor's models take Anthropic's structured outputs, <c>output_config.format</c>
    /// (generally available on Anthropic's API, without a beta, for its recent models): an OpenAI client's
    /// <c>response_format</c> json_schema then goes as that, constrained decoding, instead of an instruction in the system
    /// prompt. Off by default: a model or an Anthropic-compatible server that does not take it refuses the request.
    /// </summary>
    public bool StructuredOutputs { get; init; }

    /// <summary>Whether <paramref name="name"/> is a beta's name: letters, digits, '.', '_' and '-' only.</summary>
    public static bool IsBetaName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}

public sealed record ModelConfig(
    string Id,
    string Vendor,
    ModelCapabilities Capabilities,
    int ContextWindow,
    string? Family = null,
    int? DefaultMaxOutputTokens = null)
{
    /// <summary>What tenants are billed for this model on any of its deployments, unless a deployment sets its own.</summary>
    public SellPrice? Sell { get; init; }

    /// <summary>
    /// The model reasons unless a request turns its thinking off (DeepSeek's thinking mode, on by default): a request that
    /// does not turn it off is decided as one asking for reasoning (<see cref="Policy.RequestFeatures.ReasonsOn"/>).
    /// Only a model declared <see cref="ModelCapabilities.Reasoning"/> whose every deployment reads the thinking switch
    /// (<see cref="DeploymentEntry.ReadsThinkingSwitch"/>) may say so: elsewhere Corridor could not turn it off.
    /// </summary>
    public bool ReasoningByDefault { get; init; }
}

/// <summary>
/// What the operator bills tenants: either prices per million tokens, or a markup on the vendor's price
/// (<c>0.25</c> bills the cost plus 25 %). Exactly one of the two forms is set. In the first form, prompt tokens read
/// from or written to the vendor's prompt cache have prices of their own when set, else the input price. Either form
/// may take a share off the requests of a batch (<see cref="BatchDiscount"/>).
/// </summary>
public sealed record SellPrice(decimal? InputPerMillion = null, decimal? OutputPerMillion = null, decimal? Markup = null)
{
    /// <summary>The price of a prompt token read from the vendor's cache; the input price when null.</summary>
    public decimal? CacheReadPerMillion { get; init; }

    /// <summary>The price of a prompt token written to the vendor's cache; the input price when null.</summary>
    public decimal? CacheWritePerMillion { get; init; }

    /// <summary>The price of a prompt token written to Anthropic's one-hour cache; <see cref="CacheWritePerMillion"/> when null.</summary>
    public decimal? CacheWriteOneHourPerMillion { get; init; }

    /// <summary>
    /// The share of the price taken off a request of a batch (0.5 bills it half, 0 as a live one, 1 nothing); where null,
    /// the model's, else the catalog's (<see cref="CatalogConfig.DefaultBatchDiscount"/>).
    /// </summary>
    public decimal? BatchDiscount { get; init; }

    /// <summary>
    /// The sell prices of a request whose prompt exceeds <see cref="LongContextPrice.Above"/> tokens (the whole request at
    /// them); null bills every request at the prices above. Only with prices: a markup follows the vendor's tier already.
    /// </summary>
    public LongContextPrice? LongContext { get; init; }

    /// <summary>
    /// The price of 1,000 of the vendor's web searches (Anthropic's <c>web_search</c> server tool); where null, the serving
    /// deployment's <see cref="DeploymentConfig.WebSearchPricePerThousand"/>: a search is never sold below its cost. Only with prices.
    /// </summary>
    public decimal? WebSearchPerThousand { get; init; }
}

/// <summary>
/// A vendor's long-context tier: a request whose prompt (every prompt token, those read from and written to the prompt
/// cache included, as Anthropic counts it) exceeds <paramref name="Above"/> tokens is priced at these prices, every token
/// of it, not only those above the threshold (Anthropic's Claude Sonnet 4 and 4.5 beyond 200,000 tokens with the 1M-token
/// context window, Google's Gemini 2.5 Pro). A cache price left out is the tier's input price, as in the prices it
/// replaces; the catalog requires each one those prices set.
/// </summary>
public sealed record LongContextPrice(long Above, decimal InputPerMillion, decimal OutputPerMillion)
{
    /// <summary>The price of a prompt token read from the cache in the tier; the tier's input price when null.</summary>
    public decimal? CacheReadPerMillion { get; init; }

    /// <summary>The price of a prompt token written to the cache in the tier; the tier's input price when null.</summary>
    public decimal? CacheWritePerMillion { get; init; }

    /// <summary>The price of a prompt token written to Anthropic's one-hour cache in the tier; <see cref="CacheWritePerMillion"/> when null.</summary>
    public decimal? CacheWriteOneHourPerMillion { get; init; }

    /// <summary>Whether a request of <paramref name="inputTokens"/> prompt tokens is priced at this tier.</summary>
    public bool Applies(long inputTokens) => inputTokens > Above;

    /// <summary>The highest price a prompt token can cost in the tier.</summary>
    public decimal DearestInputPerMillion => Math.Max(
        Math.Max(InputPerMillion, CacheReadPerMillion ?? 0m),
        Math.Max(CacheWritePerMillion ?? 0m, CacheWriteOneHourPerMillion ?? 0m));
}

/// <summary>
/// One place a model is served. <paramref name="Endpoint"/> overrides the vendor's base URL;
/// <paramref name="UpstreamModel"/> is the name the upstream knows the model by (an Azure deployment name, say).
/// <paramref name="Via"/> names the vendor entry whose API reaches this deployment when it is not the model's own
/// (OpenAI's model served through Azure OpenAI): the model's vendor still sets the terms.
/// The credential itself never lives in configuration, only the environment variable that holds it.
/// </summary>
public sealed record DeploymentConfig(
    string Id,
    string Model,
    string Region,
    decimal InputPricePerMillion,
    decimal OutputPricePerMillion,
    int Priority = 0,
    string? Endpoint = null,
    string? CredentialEnv = null,
    string? UpstreamModel = null,
    string? Via = null)
{
    /// <summary>What tenants are billed when this deployment serves; overrides the model's sell price.</summary>
    public SellPrice? Sell { get; init; }

    /// <summary>
    /// The vendor's price of a prompt token read from its prompt cache (OpenAI's "cached input", Anthropic's cache hits,
    /// DeepSeek's cache hits); the input price when null.
    /// </summary>
    public decimal? CacheReadPricePerMillion { get; init; }

    /// <summary>The vendor's price of a prompt token written to its prompt cache (Anthropic's cache writes); the input price when null.</summary>
    public decimal? CacheWritePricePerMillion { get; init; }

    /// <summary>
    /// The vendor's price of a prompt token written to Anthropic's one-hour cache (twice its input price, where the
    /// five-minute cache's writes cost 1.25 times); <see cref="CacheWritePricePerMillion"/> when null.
    /// </summary>
    public decimal? CacheWriteOneHourPricePerMillion { get; init; }

    /// <summary>
    /// The vendor's service tier every request to this deployment is sent with (<c>service_tier</c>): for an OpenAI or Azure
    /// OpenAI vendor <c>auto</c>, <c>default</c>, <c>flex</c> or <c>priority</c>; for an Anthropic one <c>auto</c> or
    /// <c>standard_only</c>. Null: none is sent, and the vendor's account default applies. A client's own is never sent:
    /// a tier changes what the vendor charges, which this deployment's price states (docs/forwarding.md).
    /// </summary>
    public string? ServiceTier { get; init; }

    /// <summary>
    /// Where an Anthropic vendor runs this deployment's inference (<c>inference_geo</c>: <c>us</c>, <c>global</c>), sent with
    /// every request to it. Null: none is sent, and the vendor's workspace default applies. A client's own is never sent: where
    /// a request is served is the deployment's region, which policy decides (docs/forwarding.md).
    /// </summary>
    public string? InferenceGeo { get; init; }

    /// <summary>
    /// The vendor's long-context tier (<c>price.longContext</c>): the prices of a request whose prompt exceeds its threshold,
    /// the whole request at them; null where the vendor has none.
    /// </summary>
    public LongContextPrice? LongContext { get; init; }

    /// <summary>
    /// The vendor's price of 1,000 web searches (<c>price.webSearch</c>; Anthropic's <c>web_search</c> server tool, 10.00
    /// per 1,000), beside the tokens; null where the vendor charges none.
    /// </summary>
    public decimal? WebSearchPricePerThousand { get; init; }

    /// <summary>
    /// The highest price a prompt token can cost on this deployment at its ordinary prices: what a reservation counts every
    /// prompt token at (the long-context tier's dearest too, for a prompt estimated above its threshold).
    /// </summary>
    public decimal DearestInputPricePerMillion => Math.Max(
        Math.Max(InputPricePerMillion, CacheReadPricePerMillion ?? 0m),
        Math.Max(CacheWritePricePerMillion ?? 0m, CacheWriteOneHourPricePerMillion ?? 0m));
}

public sealed record CatalogConfig(
    IReadOnlyList<VendorConfig> Vendors,
    IReadOnlyList<ModelConfig> Models,
    IReadOnlyList<DeploymentConfig> Deployments)
{
    /// <summary>The markup on cost billed where neither deployment nor model sets a sell price (<c>pricing.markup</c>); 0 bills the cost.</summary>
    public decimal DefaultMarkup { get; init; }

    /// <summary>
    /// The share of the sell price taken off a request of a batch where neither deployment nor model sets one
    /// (<c>pricing.batchDiscount</c>); 0 bills it as a live request. The vendor's price, the cost, is never discounted.
    /// </summary>
    public decimal DefaultBatchDiscount { get; init; }
}
