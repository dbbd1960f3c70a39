using System.Text.RegularExpressions;

namespace Corridor.Core.Catalog;

/// <summary>Checks a catalog as a whole and reports every error at once, each naming where it is.</summary>
public static partial class CatalogValidator
{
    /// <summary>
    /// The dearest price per million tokens the catalog takes (one currency unit a token). With it and
    /// <see cref="MaxMarkup"/>, a cost, a price or a reservation of any token count a request can carry stays far inside
    /// <see cref="decimal"/>'s range, so metering and admission never overflow.
    /// </summary>
    public const decimal MaxPricePerMillion = 1_000_000m;

    /// <summary>The largest markup the catalog takes (1,000 is a price of 1,001 times the cost).</summary>
    public const decimal MaxMarkup = 1_000m;

    public static IReadOnlyList<string> Validate(CatalogConfig catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var errors = new List<string>();

        var vendors = new Dictionary<string, VendorConfig>(StringComparer.Ordinal);
        for (var i = 0; i < catalog.Vendors.Count; i++)
        {
            var vendor = catalog.Vendors[i];
            var at = $"vendors[{i}]";
            if (!CheckId(vendor.Id, at, errors))
            {
                continue;
            }
            if (!vendors.TryAdd(vendor.Id, vendor))
            {
                errors.Add($"{at}: duplicate vendor id '{vendor.Id}'");
            }
            if (!IsHttpUrl(vendor.BaseUrl))
            {
                errors.Add($"{at} ({vendor.Id}): baseUrl '{vendor.BaseUrl}' is not an absolute http(s) URL");
            }
            if (vendor.Kind == VendorKind.AzureOpenAI && string.IsNullOrWhiteSpace(vendor.ApiVersion))
            {
                errors.Add($"{at} ({vendor.Id}): kind azure-openai needs an apiVersion");
            }
            if (vendor.ThinkingSwitch == true && IsHttpUrl(vendor.BaseUrl) && !DeploymentEntry.IsOpenAICompatibleServerAt(vendor.Kind, vendor.BaseUrl))
            {
                errors.Add($"{at} ({vendor.Id}): thinkingSwitch applies only to an OpenAI-compatible server other than OpenAI's own API (kind openai, elsewhere than api.openai.com)");
            }
            if (vendor.StructuredOutputs && vendor.Kind != VendorKind.Anthropic)
            {
                errors.Add($"{at} ({vendor.Id}): structuredOutputs is Anthropic's output_config.format, for a vendor of kind anthropic only");
            }
            if (vendor.Betas.Count > 0 && vendor.Kind != VendorKind.Anthropic)
            {
                errors.Add($"{at} ({vendor.Id}): betas are anthropic-beta names, for a vendor of kind anthropic only");
            }
            foreach (var beta in vendor.Betas.Where(beta => !VendorConfig.IsBetaName(beta)))
            {
                errors.Add($"{at} ({vendor.Id}): betas: '{beta}' is not a beta's name (letters, digits, '.', '_' and '-')");
            }
        }

        var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        for (var i = 0; i < catalog.Models.Count; i++)
        {
            var model = catalog.Models[i];
            var at = $"models[{i}]";
            if (!CheckId(model.Id, at, errors))
            {
                continue;
            }
            if (!models.TryAdd(model.Id, model))
            {
                errors.Add($"{at}: duplicate model id '{model.Id}'");
            }
            if (!vendors.TryGetValue(model.Vendor ?? "", out var vendor))
            {
                errors.Add($"{at} ({model.Id}): unknown vendor '{model.Vendor}'");
            }
            else if (vendor.Kind == VendorKind.Anthropic && model.Capabilities.HasFlag(ModelCapabilities.Embeddings))
            {
                errors.Add($"{at} ({model.Id}): vendor '{vendor.Id}' of kind anthropic serves no embeddings");
            }
            // tools, vision and reasoning only qualify what a model does: one that neither chats nor embeds serves nothing.
            if ((model.Capabilities & (ModelCapabilities.Chat | ModelCapabilities.Embeddings)) == ModelCapabilities.None)
            {
                errors.Add($"{at} ({model.Id}): capabilities must name at least one of chat, embeddings");
            }
            if (model.ContextWindow <= 0)
            {
                errors.Add($"{at} ({model.Id}): contextWindow must be positive");
            }
            if (model.DefaultMaxOutputTokens is <= 0)
            {
                errors.Add($"{at} ({model.Id}): maxOutputTokens must be positive");
            }
            if (model.ReasoningByDefault && (model.Capabilities & (ModelCapabilities.Chat | ModelCapabilities.Reasoning)) != (ModelCapabilities.Chat | ModelCapabilities.Reasoning))
            {
                errors.Add($"{at} ({model.Id}): reasoningByDefault needs the capabilities chat and reasoning");
            }
            CheckSell(model.Sell, $"{at} ({model.Id}).sell", errors);
        }

        var deploymentIds = new HashSet<string>(StringComparer.Ordinal);
        var served = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < catalog.Deployments.Count; i++)
        {
            var deployment = catalog.Deployments[i];
            var at = $"deployments[{i}]";
            if (!CheckId(deployment.Id, at, errors))
            {
                continue;
            }
            if (!deploymentIds.Add(deployment.Id))
            {
                errors.Add($"{at}: duplicate deployment id '{deployment.Id}'");
            }
            if (!models.TryGetValue(deployment.Model ?? "", out var model))
            {
                errors.Add($"{at} ({deployment.Id}): unknown model '{deployment.Model}'");
            }
            else
            {
                served.Add(model.Id);
            }
            if (deployment.Via is { } via)
            {
                if (!vendors.TryGetValue(via, out var through))
                {
                    errors.Add($"{at} ({deployment.Id}): via names unknown vendor '{via}'");
                }
                else if (through.Kind == VendorKind.Anthropic && model is not null && model.Capabilities.HasFlag(ModelCapabilities.Embeddings))
                {
                    errors.Add($"{at} ({deployment.Id}): vendor '{via}' of kind anthropic serves no embeddings");
                }
            }
            if (model is { ReasoningByDefault: true } && (deployment.Via is { } other ? vendors.GetValueOrDefault(other) : vendors.GetValueOrDefault(model.Vendor ?? "")) is { } serving
                && (!DeploymentEntry.IsOpenAICompatibleServerAt(serving.Kind, deployment.Endpoint ?? serving.BaseUrl) || serving.ThinkingSwitch == false))
            {
                // Corridor turns such a model's thinking off with DeepSeek's switch; an upstream that does not read it would reason anyway.
                errors.Add($"{at} ({deployment.Id}): model '{model.Id}' reasons by default, and Corridor can turn its thinking off only at an "
                    + "OpenAI-compatible server other than OpenAI's own API (an openai-kind vendor elsewhere than api.openai.com, such as DeepSeek), "
                    + $"which reads the switch thinking: {{type: disabled}}; vendor '{serving.Id}' is not one, or says thinkingSwitch: false");
            }
            if (string.IsNullOrEmpty(deployment.Region) || !RegionPattern().IsMatch(deployment.Region))
            {
                errors.Add($"{at} ({deployment.Id}): region '{deployment.Region}' is not a region code such as sg, jp-east, eu-west");
            }
            if (deployment.Endpoint is not null && !IsHttpUrl(deployment.Endpoint))
            {
                errors.Add($"{at} ({deployment.Id}): endpoint '{deployment.Endpoint}' is not an absolute http(s) URL");
            }
            if (deployment.CredentialEnv is not null && !EnvNamePattern().IsMatch(deployment.CredentialEnv))
            {
                errors.Add($"{at} ({deployment.Id}): credentialEnv '{deployment.CredentialEnv}' is not an environment variable name (the secret itself never goes in the file)");
            }
            if (deployment.InputPricePerMillion < 0 || deployment.OutputPricePerMillion < 0
                || deployment.CacheReadPricePerMillion < 0 || deployment.CacheWritePricePerMillion < 0 || deployment.CacheWriteOneHourPricePerMillion < 0
                || deployment.WebSearchPricePerThousand < 0)
            {
                errors.Add($"{at} ({deployment.Id}): prices must not be negative");
            }
            else if (deployment.InputPricePerMillion > MaxPricePerMillion || deployment.OutputPricePerMillion > MaxPricePerMillion
                || deployment.CacheReadPricePerMillion > MaxPricePerMillion || deployment.CacheWritePricePerMillion > MaxPricePerMillion
                || deployment.CacheWriteOneHourPricePerMillion > MaxPricePerMillion || deployment.WebSearchPricePerThousand > MaxPricePerMillion)
            {
                errors.Add($"{at} ({deployment.Id}): a price per million tokens must be at most {MaxPricePerMillion:0}");
            }
            var servedBy = deployment.Via is { } by ? vendors.GetValueOrDefault(by) : model is null ? null : vendors.GetValueOrDefault(model.Vendor ?? "");
            CheckTerms(deployment, servedBy, $"{at} ({deployment.Id})", errors);
            if (deployment.LongContext is { } tier)
            {
                CheckLongContext(tier, deployment.CacheReadPricePerMillion, deployment.CacheWritePricePerMillion, deployment.CacheWriteOneHourPricePerMillion,
                    $"{at} ({deployment.Id}).price.longContext", errors);
            }
            CheckSell(deployment.Sell, $"{at} ({deployment.Id}).sell", errors);
        }

        foreach (var model in models.Keys)
        {
            if (!served.Contains(model))
            {
                errors.Add($"model '{model}' has no deployment");
            }
        }
        if (catalog.DefaultMarkup < 0)
        {
            errors.Add("pricing.markup must not be negative");
        }
        else if (catalog.DefaultMarkup > MaxMarkup)
        {
            errors.Add($"pricing.markup must be at most {MaxMarkup:0}");
        }
        if (catalog.DefaultBatchDiscount is < 0 or > 1)
        {
            errors.Add("pricing.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)");
        }
        return errors;
    }

    /// <summary>The service tiers each kind of vendor takes in <c>service_tier</c>.</summary>
    private static string[] ServiceTiers(VendorKind kind) => kind == VendorKind.Anthropic
        ? ["auto", "standard_only"]
        : ["auto", "default", "flex", "priority"];

    /// <summary>A deployment's <see cref="DeploymentConfig.ServiceTier"/> and <see cref="DeploymentConfig.InferenceGeo"/>, against the vendor that serves it.</summary>
    private static void CheckTerms(DeploymentConfig deployment, VendorConfig? vendor, string at, List<string> errors)
    {
        if (vendor is null)
        {
            return;
        }
        if (deployment.ServiceTier is { } tier && !ServiceTiers(vendor.Kind).Contains(tier, StringComparer.Ordinal))
        {
            errors.Add($"{at}: serviceTier '{tier}' is not one vendor '{vendor.Id}' of kind {KindName(vendor.Kind)} takes ({string.Join(", ", ServiceTiers(vendor.Kind))})");
        }
        if (deployment.InferenceGeo is { } geo)
        {
            if (vendor.Kind != VendorKind.Anthropic)
            {
                errors.Add($"{at}: inferenceGeo is Anthropic's inference_geo, for a deployment served by a vendor of kind anthropic only");
            }
            else if (!GeoPattern().IsMatch(geo))
            {
                errors.Add($"{at}: inferenceGeo '{geo}' is not a geography such as us or global");
            }
        }
    }

    private static string KindName(VendorKind kind) => kind switch
    {
        VendorKind.AzureOpenAI => "azure-openai",
        VendorKind.Anthropic => "anthropic",
        _ => "openai",
    };

    private static void CheckSell(SellPrice? sell, string at, List<string> errors)
    {
        if (sell is null)
        {
            return;
        }
        var hasPrices = sell.InputPerMillion is not null || sell.OutputPerMillion is not null;
        if (!hasPrices && sell.Markup is null && sell.BatchDiscount is not null)
        {
            errors.Add($"{at}: a batchDiscount goes with input and output prices or a markup (pricing.batchDiscount sets one for every model)");
        }
        else if (hasPrices == (sell.Markup is not null))
        {
            errors.Add($"{at}: give either input and output prices per million tokens, or a markup");
        }
        else if (hasPrices && (sell.InputPerMillion is null || sell.OutputPerMillion is null))
        {
            errors.Add($"{at}: give both input and output prices");
        }
        else if (!hasPrices && (sell.CacheReadPerMillion is not null || sell.CacheWritePerMillion is not null || sell.CacheWriteOneHourPerMillion is not null))
        {
            errors.Add($"{at}: cache prices go with input and output prices; a markup applies to the vendor's cache prices already");
        }
        if (sell.InputPerMillion < 0 || sell.OutputPerMillion < 0 || sell.Markup < 0
            || sell.CacheReadPerMillion < 0 || sell.CacheWritePerMillion < 0 || sell.CacheWriteOneHourPerMillion < 0 || sell.WebSearchPerThousand < 0)
        {
            errors.Add($"{at}: must not be negative");
        }
        else if (sell.InputPerMillion > MaxPricePerMillion || sell.OutputPerMillion > MaxPricePerMillion || sell.Markup > MaxMarkup
            || sell.CacheReadPerMillion > MaxPricePerMillion || sell.CacheWritePerMillion > MaxPricePerMillion
            || sell.CacheWriteOneHourPerMillion > MaxPricePerMillion || sell.WebSearchPerThousand > MaxPricePerMillion)
        {
            errors.Add($"{at}: prices must be at most {MaxPricePerMillion:0} per million tokens, a markup at most {MaxMarkup:0}");
        }
        if (!hasPrices && sell.Markup is not null && sell.WebSearchPerThousand is not null)
        {
            errors.Add($"{at}: webSearch goes with input and output prices; a markup applies to the vendor's webSearch already");
        }
        if (sell.BatchDiscount is < 0 or > 1)
        {
            errors.Add($"{at}.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)");
        }
        if (sell.LongContext is { } tier)
        {
            if (!hasPrices)
            {
                errors.Add($"{at}.longContext: goes with input and output prices; a markup applies to the vendor's long-context prices already");
            }
            CheckLongContext(tier, sell.CacheReadPerMillion, sell.CacheWritePerMillion, sell.CacheWriteOneHourPerMillion, $"{at}.longContext", errors);
        }
    }

    /// <summary>
    /// A long-context tier: a positive threshold, prices within bounds, and a cache price wherever the prices it replaces
    /// set one (left out, the tier would bill the cache's tokens at its input price: a cache read at ten times its price).
    /// </summary>
    private static void CheckLongContext(LongContextPrice tier, decimal? cacheRead, decimal? cacheWrite, decimal? cacheWriteOneHour, string at, List<string> errors)
    {
        if (tier.Above <= 0)
        {
            errors.Add($"{at}.above must be a positive number of prompt tokens");
        }
        if (tier.InputPerMillion < 0 || tier.OutputPerMillion < 0
            || tier.CacheReadPerMillion < 0 || tier.CacheWritePerMillion < 0 || tier.CacheWriteOneHourPerMillion < 0)
        {
            errors.Add($"{at}: prices must not be negative");
        }
        else if (tier.InputPerMillion > MaxPricePerMillion || tier.OutputPerMillion > MaxPricePerMillion
            || tier.CacheReadPerMillion > MaxPricePerMillion || tier.CacheWritePerMillion > MaxPricePerMillion
            || tier.CacheWriteOneHourPerMillion > MaxPricePerMillion)
        {
            errors.Add($"{at}: a price per million tokens must be at most {MaxPricePerMillion:0}");
        }
        string[] missing =
        [
            .. cacheRead is not null && tier.CacheReadPerMillion is null ? ["cacheRead"] : Array.Empty<string>(),
            .. cacheWrite is not null && tier.CacheWritePerMillion is null ? ["cacheWrite"] : Array.Empty<string>(),
            .. cacheWriteOneHour is not null && tier.CacheWriteOneHourPerMillion is null ? ["cacheWrite1h"] : Array.Empty<string>(),
        ];
        if (missing.Length > 0)
        {
            errors.Add($"{at}: give {string.Join(", ", missing)} as the prices it replaces do (left out, each would be the tier's input price)");
        }
    }

    private static bool CheckId(string? id, string at, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add($"{at}: id is required");
            return false;
        }
        return true;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    [GeneratedRegex("^[a-z]{2}(-[a-z0-9]+)*$")]
    private static partial Regex RegionPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    private static partial Regex GeoPattern();
}
