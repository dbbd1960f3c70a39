using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Tests.Policy;

/// <summary>A small catalog shaped like the demo's, and helpers to compile rules and decide.</summary>
internal static class PolicyFixtures
{
    public static readonly DateTimeOffset Now = new(2025, 7, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly CatalogConfig CatalogConfig = new(
        [
            new VendorConfig("openai", VendorKind.OpenAI, "https://api.openai.com/v1"),
            new VendorConfig("azure", VendorKind.AzureOpenAI, "https://x.openai.azure.com", "2024-10-21"),
            new VendorConfig("anthropic", VendorKind.Anthropic, "https://api.anthropic.com/v1"),
            new VendorConfig("deepseek", VendorKind.OpenAI, "https://api.deepseek.com/v1"),
        ],
        [
            new ModelConfig("gpt-4.1", "openai", ModelCapabilities.Chat, 1_000_000, "gpt-4.1"),
            new ModelConfig("gpt-4.1-mini", "openai", ModelCapabilities.Chat, 1_000_000, "gpt-4.1"),
            new ModelConfig("claude-sonnet-4", "anthropic", ModelCapabilities.Chat, 200_000, "claude-4"),
            new ModelConfig("deepseek-v4", "deepseek", ModelCapabilities.Chat, 128_000, "deepseek"),
        ],
        [
            new DeploymentConfig("gpt-sg", "gpt-4.1", "sg", 2m, 8m, 1),
            new DeploymentConfig("gpt-jp", "gpt-4.1", "jp-east", 2m, 8m, 2),
            new DeploymentConfig("gpt-eu", "gpt-4.1", "eu-west", 2m, 8m, 3, Via: "azure"),
            new DeploymentConfig("gpt-us", "gpt-4.1", "us-east", 2m, 8m, 4),
            new DeploymentConfig("mini-sg", "gpt-4.1-mini", "sg", 1m, 1m),
            new DeploymentConfig("claude-us", "claude-sonnet-4", "us-east", 3m, 15m, 1),
            new DeploymentConfig("claude-eu", "claude-sonnet-4", "eu-west", 3m, 15m, 2),
            new DeploymentConfig("claude-jp", "claude-sonnet-4", "jp-east", 3m, 15m, 3),
            new DeploymentConfig("deepseek-cn", "deepseek-v4", "cn-north", 1m, 1m, 1),
            new DeploymentConfig("deepseek-sg", "deepseek-v4", "sg", 1m, 1m, 2),
        ]);

    public static readonly CatalogModel TestCatalog = CatalogModel.TryCreate(CatalogConfig, out _) ?? throw new InvalidOperationException("fixture catalog is invalid");

    /// <summary>A rule granting every model to everyone.</summary>
    public static PolicyRule GrantAll(string id = "grant-all") => new(id) { AllowJurisdictions = ["*"] };

    public static CompiledPolicy Compile(params PolicyRule[] rules) => Compile([], rules);

    public static CompiledPolicy Compile(PolicyGroup[] groups, params PolicyRule[] rules)
    {
        var policy = CompiledPolicy.TryCreate(new PolicyConfig("test-1", groups, rules), TestCatalog, out var errors);
        Assert.True(policy is not null, string.Join("\n", errors));
        return policy;
    }

    public static DecisionTenant Tenant(
        string country = "US",
        string? controlling = null,
        VettingTier tier = VettingTier.Verified,
        EntityType entityType = EntityType.Enterprise,
        bool deniedParty = false) =>
        new("acme", country, controlling, entityType, tier, deniedParty);

    public static Decision Decide(this CompiledPolicy policy, DecisionTenant tenant, RequestFeatures request, DateTimeOffset? at = null)
    {
        var input = new DecisionInput(tenant, "key-1", request, at ?? Now);
        return policy.Decide(in input);
    }

    public static Decision Decide(this CompiledPolicy policy, DecisionTenant tenant, string model = "gpt-4.1", DateTimeOffset? at = null) =>
        policy.Decide(tenant, new RequestFeatures(model), at);

    public static string[] Regions(this Decision decision) => [.. decision.Deployments.Select(d => d.Region)];

    public static string[] Ids(this Decision decision) => [.. decision.Deployments.Select(d => d.Id)];

    public static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(directory, "Corridor.slnx")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("repository root not found");
        }
        return directory;
    }
}
