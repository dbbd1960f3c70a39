using Corridor.Core.Catalog;

namespace Corridor.Core.Tests.Catalog;

public sealed class CatalogValidatorTests
{
    private static readonly VendorConfig OpenAI = new("openai", VendorKind.OpenAI, "https://api.openai.com/v1");
    private static readonly VendorConfig Anthropic = new("anthropic", VendorKind.Anthropic, "https://api.anthropic.com/v1");
    private static readonly ModelConfig Gpt = new("gpt-4.1", "openai", ModelCapabilities.Chat, 1_000_000);

    private static CatalogConfig Valid() => new(
        [OpenAI, Anthropic],
        [Gpt, new ModelConfig("claude-sonnet-4", "anthropic", ModelCapabilities.Chat | ModelCapabilities.Tools, 200_000)],
        [
            new DeploymentConfig("gpt-sg", "gpt-4.1", "sg", 2m, 8m, 1),
            new DeploymentConfig("gpt-jp", "gpt-4.1", "jp-east", 2m, 8m, 2, CredentialEnv: "OPENAI_KEY"),
            new DeploymentConfig("claude-us", "claude-sonnet-4", "us-east", 3m, 15m),
        ]);

    [Fact]
    public void ValidCatalog_HasNoErrors()
    {
        Assert.Empty(CatalogValidator.Validate(Valid()));
    }

    [Fact]
    public void EveryError_IsReportedAtOnce()
    {
        var catalog = new CatalogConfig(
            [OpenAI, OpenAI with { BaseUrl = "not a url" }, new VendorConfig("az", VendorKind.AzureOpenAI, "https://x.openai.azure.com")],
            [Gpt, Gpt, new ModelConfig("orphan", "nobody", ModelCapabilities.None, 0)],
            [
                new DeploymentConfig("d1", "gpt-4.1", "Singapore", -1m, 8m),
                new DeploymentConfig("d1", "missing", "sg", 1m, 1m, Endpoint: "ftp://x", CredentialEnv: "sk-live-123"),
            ]);

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains(errors, e => e.Contains("duplicate vendor id 'openai'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("not an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("azure-openai needs an apiVersion", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("duplicate model id 'gpt-4.1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown vendor 'nobody'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("capabilities must name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("contextWindow must be positive", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("region 'Singapore'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("prices must not be negative", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("duplicate deployment id 'd1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown model 'missing'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("endpoint 'ftp://x'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("credentialEnv 'sk-live-123'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("model 'orphan' has no deployment", StringComparison.Ordinal));
    }

    [Fact]
    public void ReasoningByDefault_NeedsTheReasoningCapability_AndEveryDeploymentWhereCorridorCanTurnThinkingOff()
    {
        var deepSeek = new VendorConfig("deepseek", VendorKind.OpenAI, "https://api.deepseek.com/v1");
        var thinker = new ModelConfig("deepseek-v4", "deepseek", ModelCapabilities.Chat | ModelCapabilities.Reasoning, 128_000) { ReasoningByDefault = true };
        CatalogConfig With(ModelConfig model, params DeploymentConfig[] deployments) => Valid() with
        {
            Vendors = [.. Valid().Vendors, deepSeek],
            Models = [.. Valid().Models, model],
            Deployments = [.. Valid().Deployments, .. deployments],
        };

        Assert.Empty(CatalogValidator.Validate(With(thinker, new DeploymentConfig("ds-sg", "deepseek-v4", "sg", 1m, 1m))));
        Assert.Contains(CatalogValidator.Validate(With(thinker with { Capabilities = ModelCapabilities.Chat }, new DeploymentConfig("ds-sg", "deepseek-v4", "sg", 1m, 1m))),
            e => e.Contains("(deepseek-v4): reasoningByDefault needs the capabilities chat and reasoning", StringComparison.Ordinal));
        // OpenAI's own API and an Anthropic-kind one do not read DeepSeek's switch: Corridor could not turn the thinking off there.
        var errors = CatalogValidator.Validate(With(thinker,
            new DeploymentConfig("ds-sg", "deepseek-v4", "sg", 1m, 1m),
            new DeploymentConfig("ds-openai", "deepseek-v4", "us-east", 1m, 1m, Endpoint: "https://eu.api.openai.com/v1"),
            new DeploymentConfig("ds-anthropic", "deepseek-v4", "us-east", 1m, 1m, Via: "anthropic")));
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("deployments[4] (ds-openai): model 'deepseek-v4' reasons by default", StringComparison.Ordinal) && e.Contains("vendor 'deepseek'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("deployments[5] (ds-anthropic):", StringComparison.Ordinal) && e.Contains("vendor 'anthropic' is not one", StringComparison.Ordinal));
    }

    [Fact]
    public void ThinkingSwitch_IsOnlyForAnOpenAICompatibleServer_AndOffItLeavesNoWayToTurnADefaultReasonerOff()
    {
        var strict = new VendorConfig("strict", VendorKind.OpenAI, "https://api.strict.example/v1") { ThinkingSwitch = false };
        var thinker = new ModelConfig("thinker", "strict", ModelCapabilities.Chat | ModelCapabilities.Reasoning, 128_000) { ReasoningByDefault = true };
        var catalog = Valid() with
        {
            Vendors = [OpenAI with { ThinkingSwitch = true }, Anthropic with { ThinkingSwitch = false }, strict],
            Models = [.. Valid().Models, thinker],
            Deployments = [.. Valid().Deployments, new DeploymentConfig("thinker-sg", "thinker", "sg", 1m, 1m)],
        };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("vendors[0] (openai): thinkingSwitch applies only to", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("deployments[3] (thinker-sg): model 'thinker' reasons by default", StringComparison.Ordinal) && e.Contains("thinkingSwitch: false", StringComparison.Ordinal));
        var entry = Corridor.Core.Catalog.Catalog.TryCreate(catalog with { Vendors = [OpenAI, Anthropic, strict], Models = [.. Valid().Models, thinker with { ReasoningByDefault = false }] }, out _)!;
        Assert.True(entry.TryGetModel("thinker", out var model));
        Assert.False(model.Deployments[0].ReadsThinkingSwitch);
        Assert.True(model.Deployments[0].IsOpenAICompatibleServer);
    }

    [Fact]
    public void Betas_AreNamesOfAnthropicBetas_OnAnAnthropicVendorOnly()
    {
        var catalog = Valid() with
        {
            Vendors = [OpenAI with { Betas = ["context-management-2025-06-27"] }, Anthropic with { Betas = ["interleaved-thinking-2025-05-14", "a b", ""] }],
        };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Equal(
            [
                "vendors[0] (openai): betas are anthropic-beta names, for a vendor of kind anthropic only",
                "vendors[1] (anthropic): betas: 'a b' is not a beta's name (letters, digits, '.', '_' and '-')",
                "vendors[1] (anthropic): betas: '' is not a beta's name (letters, digits, '.', '_' and '-')",
            ],
            errors);
        Assert.Empty(CatalogValidator.Validate(Valid() with { Vendors = [OpenAI, Anthropic with { Betas = ["interleaved-thinking-2025-05-14"] }] }));
    }

    [Fact]
    public void ServiceTiers_AreTheServingVendorsOwn_AndInferenceGeo_AnAnthropicGeography()
    {
        var azure = new VendorConfig("azure", VendorKind.AzureOpenAI, "https://x.openai.azure.com", "2024-10-21");
        var catalog = Valid() with
        {
            Vendors = [OpenAI, Anthropic, azure],
            Deployments =
            [
                new DeploymentConfig("gpt-sg", "gpt-4.1", "sg", 2m, 8m) { ServiceTier = "flex" },
                new DeploymentConfig("gpt-jp", "gpt-4.1", "jp-east", 2m, 8m) { ServiceTier = "standard_only", InferenceGeo = "us" },
                new DeploymentConfig("gpt-eu", "gpt-4.1", "eu-west", 2m, 8m, Via: "azure") { ServiceTier = "priority" },
                new DeploymentConfig("claude-us", "claude-sonnet-4", "us-east", 3m, 15m) { ServiceTier = "standard_only", InferenceGeo = "us" },
                new DeploymentConfig("claude-any", "claude-sonnet-4", "us-east", 3m, 15m) { ServiceTier = "flex", InferenceGeo = "US East" },
            ],
        };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Equal(
            [
                "deployments[1] (gpt-jp): serviceTier 'standard_only' is not one vendor 'openai' of kind openai takes (auto, default, flex, priority)",
                "deployments[1] (gpt-jp): inferenceGeo is Anthropic's inference_geo, for a deployment served by a vendor of kind anthropic only",
                "deployments[4] (claude-any): serviceTier 'flex' is not one vendor 'anthropic' of kind anthropic takes (auto, standard_only)",
                "deployments[4] (claude-any): inferenceGeo 'US East' is not a geography such as us or global",
            ],
            errors);
    }

    [Fact]
    public void StructuredOutputs_AreAnthropicsOutputConfigFormat_OnAnAnthropicVendorOnly()
    {
        var errors = CatalogValidator.Validate(Valid() with { Vendors = [OpenAI with { StructuredOutputs = true }, Anthropic] });

        Assert.Equal(["vendors[0] (openai): structuredOutputs is Anthropic's output_config.format, for a vendor of kind anthropic only"], errors);
        Assert.Empty(CatalogValidator.Validate(Valid() with { Vendors = [OpenAI, Anthropic with { StructuredOutputs = true }] }));
    }

    [Fact]
    public void Embeddings_OnAnthropicVendor_IsRejected()
    {
        var catalog = Valid() with
        {
            Models = [.. Valid().Models, new ModelConfig("claude-embed", "anthropic", ModelCapabilities.Embeddings, 1000)],
            Deployments = [.. Valid().Deployments, new DeploymentConfig("ce", "claude-embed", "us-east", 1m, 0m)],
        };

        Assert.Contains(CatalogValidator.Validate(catalog), e => e.Contains("serves no embeddings", StringComparison.Ordinal));
    }

    [Fact]
    public void Via_MustNameAKnownVendor()
    {
        var catalog = Valid() with { Deployments = [.. Valid().Deployments, new DeploymentConfig("gpt-eu", "gpt-4.1", "eu-west", 2m, 8m, Via: "azure")] };

        Assert.Contains(CatalogValidator.Validate(catalog), e => e.Contains("via names unknown vendor 'azure'", StringComparison.Ordinal));
    }

    [Fact]
    public void Compiled_DeploymentsAreOrderedByPriority_ThenFileOrder()
    {
        var config = Valid() with
        {
            Deployments =
            [
                new DeploymentConfig("c", "gpt-4.1", "us-east", 1m, 1m, 5),
                new DeploymentConfig("a", "gpt-4.1", "sg", 1m, 1m, 1),
                new DeploymentConfig("b", "gpt-4.1", "jp-east", 1m, 1m, 1),
                new DeploymentConfig("claude-us", "claude-sonnet-4", "us-east", 3m, 15m),
            ],
        };

        var catalog = Corridor.Core.Catalog.Catalog.TryCreate(config, out var errors);

        Assert.Empty(errors);
        Assert.True(catalog!.TryGetModel("gpt-4.1".AsSpan(), out var model));
        Assert.Equal(["a", "b", "c"], model.Deployments.Select(d => d.Id));
        Assert.False(catalog.TryGetModel("gpt-5", out _));
    }

    [Fact]
    public void Compiled_ViaDeployment_UsesThatVendorsApi_AndKeepsTheModelsVendor()
    {
        var azure = new VendorConfig("azure", VendorKind.AzureOpenAI, "https://res.openai.azure.com", "2024-10-21");
        var config = Valid() with
        {
            Vendors = [OpenAI, Anthropic, azure],
            Deployments = [.. Valid().Deployments, new DeploymentConfig("gpt-eu", "gpt-4.1", "eu-west", 2m, 8m, 9, Via: "azure", UpstreamModel: "gpt41")],
        };

        var catalog = Corridor.Core.Catalog.Catalog.TryCreate(config, out _)!;
        catalog.TryGetModel("gpt-4.1", out var model);
        var eu = model.Deployments.Single(d => d.Id == "gpt-eu");

        Assert.Equal(VendorKind.AzureOpenAI, eu.Vendor.Kind);
        Assert.Equal("openai", model.Vendor.Id);
        Assert.Equal("gpt41", eu.UpstreamModel);
        Assert.Equal("https://res.openai.azure.com", eu.BaseUrl);
    }
}
