using System.Globalization;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using YamlDotNet.RepresentationModel;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Tests.Policy;

/// <summary>The shipped example policy against the shipped demo catalog, through the policy section of corridor.yaml.</summary>
public sealed class ExamplePolicyTests
{
    private static readonly string Root = PolicyFixtures.RepositoryRoot();

    [Fact]
    public void ExamplePolicy_PassesItsTestFile()
    {
        var (catalog, section) = LoadDemoConfig();
        var loaded = PolicyLoader.Load(section, Root, File.ReadAllText);
        var policy = CompiledPolicy.TryCreate(loaded, catalog, out var errors);
        Assert.True(policy is not null, string.Join("\n", errors));

        var file = PolicyTestFile.Parse(File.ReadAllText(Path.Combine(Root, "policy", "example.tests.yaml")), "policy/example.tests.yaml");
        Assert.Empty(file.Errors);
        var report = PolicyTestRunner.Run(policy, file.Cases);

        Assert.True(report.Passed, string.Join("\n", report.Failures));
        Assert.True(report.Total >= 30);
    }

    [Fact]
    public void ExamplePolicy_NeverServesChineseDeploymentsToOthers_NorEuTenantsOutsideTheEu()
    {
        var (catalog, section) = LoadDemoConfig();
        var policy = CompiledPolicy.TryCreate(PolicyLoader.Load(section, Root, File.ReadAllText), catalog, out _)!;
        var china = new[] { "CN", "HK", "MO" };
        var countries = new[] { "US", "DE", "FR", "SG", "JP", "CN", "HK", "GB", "BR", "IN", "NO" };
        foreach (var country in countries)
        {
            foreach (var controlling in countries)
            {
                foreach (var model in catalog.Models)
                {
                    var tenant = new DecisionTenant("t", country, controlling, EntityType.Enterprise, VettingTier.Strategic, false);
                    var input = new DecisionInput(tenant, null, new RequestFeatures(model.Id), PolicyFixtures.Now);
                    var regions = policy.Decide(in input).Deployments.Select(d => d.Region).ToList();
                    if (!china.Contains(country) && !china.Contains(controlling))
                    {
                        Assert.DoesNotContain("cn-north", regions);
                    }
                    if (JurisdictionResolver.EuropeanUnion.Contains(country) || JurisdictionResolver.EuropeanUnion.Contains(controlling))
                    {
                        Assert.All(regions, r => Assert.Equal("eu-west", r));
                    }
                }
            }
        }
    }

    /// <summary>The demo's catalog, read straight from corridor.yaml (the gateway's loader lives in another project), and its policy section.</summary>
    private static (CatalogModel Catalog, YamlNode Policy) LoadDemoConfig()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Root, "corridor.yaml"))));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;

        var vendors = Items(root, "vendors").Select(v => new VendorConfig(
            Text(v, "id")!,
            Text(v, "kind") switch { "anthropic" => VendorKind.Anthropic, "azure-openai" => VendorKind.AzureOpenAI, _ => VendorKind.OpenAI },
            Text(v, "baseUrl")!,
            Text(v, "apiVersion"))).ToList();
        var models = Items(root, "models").Select(m => new ModelConfig(
            Text(m, "id")!,
            Text(m, "vendor")!,
            ((YamlSequenceNode)m.Children[new YamlScalarNode("capabilities")]).Children.Any(c => ((YamlScalarNode)c).Value == "embeddings")
                ? ModelCapabilities.Embeddings
                : ModelCapabilities.Chat,
            int.Parse(Text(m, "contextWindow")!, CultureInfo.InvariantCulture),
            Text(m, "family"))).ToList();
        var deployments = Items(root, "deployments").Select(d => new DeploymentConfig(
            Text(d, "id")!,
            Text(d, "model")!,
            Text(d, "region")!,
            1m,
            1m,
            Text(d, "priority") is { } priority ? int.Parse(priority, CultureInfo.InvariantCulture) : 0,
            Via: Text(d, "via"))).ToList();
        var catalog = CatalogModel.TryCreate(new CatalogConfig(vendors, models, deployments), out var errors);
        Assert.True(catalog is not null, string.Join("\n", errors));
        return (catalog, root.Children[new YamlScalarNode("policy")]);

        static IEnumerable<YamlMappingNode> Items(YamlMappingNode root, string key) =>
            ((YamlSequenceNode)root.Children[new YamlScalarNode(key)]).Children.Cast<YamlMappingNode>();

        static string? Text(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;
    }
}
