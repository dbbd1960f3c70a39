using Corridor.Core.Catalog;
using Corridor.Gateway.Configuration;

namespace Corridor.Gateway.Tests.Configuration;

public sealed class ModelChoicesTests
{
    private static readonly Catalog Catalog = Catalog.TryCreate(new CatalogConfig(
        [new VendorConfig("openai", VendorKind.OpenAI, "https://api.openai.com/v1"), new VendorConfig("deepseek", VendorKind.OpenAI, "https://api.deepseek.com/v1")],
        [
            new ModelConfig("gpt-4.1", "openai", ModelCapabilities.Chat | ModelCapabilities.Tools, 1_000_000, DefaultMaxOutputTokens: 32_768),
            new ModelConfig("deepseek-v4", "deepseek", ModelCapabilities.Chat, 128_000),
            new ModelConfig("embed", "openai", ModelCapabilities.Embeddings, 8_192),
        ],
        [
            new DeploymentConfig("gpt-sg", "gpt-4.1", "sg", 2m, 8m, 1),
            new DeploymentConfig("gpt-jp", "gpt-4.1", "jp-east", 2m, 8m, 2),
            new DeploymentConfig("ds-sg", "deepseek-v4", "sg", 1m, 1m),
            new DeploymentConfig("embed-us", "embed", "us-east", 0.1m, 0m),
        ]), out _)!;

    private static readonly ModelChoices Choices = new(Catalog, new Dictionary<string, IReadOnlyList<string>>
    {
        ["chat-default"] = ["gpt-4.1", "no-such-model", "deepseek-v4", "embed"],
        ["gone"] = ["no-such-model"],
        ["embed"] = ["gpt-4.1"],
    });

    [Fact]
    public void AModelsId_IsThatModel_AndWinsOverAnAliasOfTheSameName()
    {
        Assert.True(Choices.TryGet("gpt-4.1", out var gpt));
        Assert.Equal(["gpt-4.1"], gpt.For(ModelCapabilities.Chat).Models.Select(m => m.Id));
        Assert.Same(Catalog.Models.Single(m => m.Id == "gpt-4.1").Deployments, gpt.For(ModelCapabilities.Chat).Deployments);
        Assert.Equal(32_768, gpt.For(ModelCapabilities.Chat).OutputBound);
        Assert.Empty(gpt.For(ModelCapabilities.Embeddings).Models);

        Assert.True(Choices.TryGet("embed", out var embed));
        Assert.Equal(["embed"], embed.For(ModelCapabilities.Embeddings).Models.Select(m => m.Id));
        Assert.Empty(embed.For(ModelCapabilities.Chat).Models);
    }

    [Fact]
    public void AnAlias_IsItsCatalogModelsInOrder_NarrowedByWhatTheRequestNeeds()
    {
        Assert.True(Choices.TryGet("chat-default", out var alias));
        Assert.Equal(["gpt-4.1", "deepseek-v4"], alias.For(ModelCapabilities.Chat).Models.Select(m => m.Id));
        Assert.Equal(["gpt-sg", "gpt-jp", "ds-sg"], alias.For(ModelCapabilities.Chat).Deployments.Select(d => d.Id));
        Assert.Equal(128_000, alias.For(ModelCapabilities.Chat).OutputBound);
        Assert.Equal(["embed"], alias.For(ModelCapabilities.Embeddings).Models.Select(m => m.Id));
        Assert.Equal(["embed-us"], alias.For(ModelCapabilities.Embeddings).Deployments.Select(d => d.Id));
    }

    [Fact]
    public void WhatARequestAsksFor_NarrowsTheModels_AndTheirDeploymentsAndOutputBound()
    {
        Assert.True(Choices.TryGet("chat-default", out var alias));
        var tools = alias.For(ModelCapabilities.Chat | ModelCapabilities.Tools);
        Assert.Equal(["gpt-4.1"], tools.Models.Select(m => m.Id));
        Assert.Equal(["gpt-sg", "gpt-jp"], tools.Deployments.Select(d => d.Id));
        Assert.Equal(32_768, tools.OutputBound);
        Assert.Same(tools, alias.For(ModelCapabilities.Chat | ModelCapabilities.Tools));

        var images = alias.For(ModelCapabilities.Chat | ModelCapabilities.Tools | ModelCapabilities.Vision);
        Assert.Empty(images.Models);
        Assert.Empty(images.Deployments);
        Assert.Equal(0, images.OutputBound);
    }

    [Fact]
    public void AnUnknownName_OrAnAliasOfNoKnownModel_ResolvesToNothing()
    {
        Assert.False(Choices.TryGet("gone", out _));
        Assert.False(Choices.TryGet("GPT-4.1", out _));
        Assert.False(Choices.TryGet("nothing", out _));
    }
}
