using Corridor.Gateway.Configuration;

namespace Corridor.Gateway.Tests;

/// <summary>Loaded configurations for tests that need one but no running gateway.</summary>
internal static class TestConfigs
{
    /// <summary>One OpenAI vendor on a closed port, <c>gpt-4.1</c> served from <c>sg</c> at 2 and 8 a million tokens.</summary>
    public const string OneDeployment = """
        vendors:
          - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
        models:
          - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000 }
        deployments:
          - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }

        """;

    /// <summary><paramref name="yaml"/> loaded and made active as of <paramref name="at"/>; the test fails on any error.</summary>
    public static ActiveConfig Active(string yaml, DateTimeOffset? at = null)
    {
        var loaded = ConfigLoader.Parse(yaml, "/srv", environment: null);
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        return ActiveConfig.TryCreate(loaded.Config!, _ => null, at ?? DateTimeOffset.UtcNow, out _)!;
    }
}
