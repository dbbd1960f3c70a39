namespace Corridor.Testing;

/// <summary>
/// The functional tests' catalog: every vendor kind, and deployments that fail in each way the simulator can
/// (its <c>/x/{knobs}</c> path prefix), so fallback and bad upstreams are exercised for real, in both dialects
/// (the <c>-claude</c> fault models are served by an Anthropic-kind vendor).
/// </summary>
public static class TestCatalog
{
    public static string Yaml(Uri simulator) => Yaml(simulator, adminTokenEnv: null);

    /// <summary>
    /// The catalog <paramref name="yaml"/> with claude-sonnet-4 writing up to 8192 tokens, so a request has room for Anthropic's
    /// least thinking budget (1024) below its max_tokens.
    /// </summary>
    public static string WithRoomToThink(string yaml) => yaml.Replace(
        "{ id: claude-sonnet-4, vendor: anthropic, capabilities: [chat, tools, vision, reasoning], contextWindow: 200000, maxOutputTokens: 1024 }",
        "{ id: claude-sonnet-4, vendor: anthropic, capabilities: [chat, tools, vision, reasoning], contextWindow: 200000, maxOutputTokens: 8192 }", StringComparison.Ordinal);

    /// <summary>
    /// The catalog <paramref name="yaml"/> with DeepSeek's reasoning model, <c>deepseek-reasoner</c> (an OpenAI-kind vendor), which
    /// the simulator has say its reasoning in <c>reasoning_content</c> and want it back within a tool loop, as DeepSeek's
    /// thinking mode does.
    /// </summary>
    public static string WithReasoner(string yaml) => WithReasoningModel(yaml, "deepseek-reasoner");

    /// <summary>The catalog <paramref name="yaml"/> with <paramref name="model"/>, a reasoning model of the OpenAI-kind vendor, deployed in sg.</summary>
    public static string WithReasoningModel(string yaml, string model)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return yaml
            .Replace("\nmodels:\n", $"\nmodels:\n  - {{ id: {model}, vendor: openai, capabilities: [chat, tools, reasoning], contextWindow: 131072 }}\n", StringComparison.Ordinal)
            .Replace("\ndeployments:\n", $"\ndeployments:\n  - {{ id: {model}-sg, model: {model}, region: sg, price: {{ input: 0.55, output: 2.19 }} }}\n", StringComparison.Ordinal);
    }

    /// <summary>The catalog <paramref name="yaml"/> with gpt-4.1 (gpt-4.1-sg) and claude-sonnet-4 (claude-us) served through <paramref name="relay"/>.</summary>
    public static string ThroughRelay(string yaml, TcpRelay relay)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(relay);
        var endpoint = $"endpoint: \"{relay.Address.ToString().TrimEnd('/')}/v1\", ";
        return yaml
            .Replace("{ id: gpt-4.1-sg, model: gpt-4.1, region: sg, ", "{ id: gpt-4.1-sg, model: gpt-4.1, region: sg, " + endpoint, StringComparison.Ordinal)
            .Replace("{ id: claude-us, model: claude-sonnet-4, region: us-east, ", "{ id: claude-us, model: claude-sonnet-4, region: us-east, " + endpoint, StringComparison.Ordinal);
    }

    /// <summary>
    /// The catalog with the admin API's token read from <paramref name="adminTokenEnv"/> and the metrics token from
    /// <paramref name="metricsTokenEnv"/> (the default variables when null).
    /// </summary>
    public static string Yaml(Uri simulator, string? adminTokenEnv, string? metricsTokenEnv = null)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        var sim = simulator.ToString().TrimEnd('/');
        var adminTokenLine = (adminTokenEnv is null ? "" : "\n  adminTokenEnv: " + adminTokenEnv)
            + (metricsTokenEnv is null ? "" : "\n  metricsTokenEnv: " + metricsTokenEnv);
        return $$"""
            server:
              maxRequestBodyBytes: 65536
              streamIdleTimeoutSeconds: 5{{adminTokenLine}}
            ledger:
              retainMaxChars: 600
            vendors:
              - { id: openai, kind: openai, baseUrl: "{{sim}}/v1" }
              - { id: azure, kind: azure-openai, baseUrl: "{{sim}}", apiVersion: "2024-10-21" }
              - { id: anthropic, kind: anthropic, baseUrl: "{{sim}}/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat, tools, vision, reasoning], contextWindow: 1047576 }
              - { id: gpt-4.1-azure, vendor: openai, capabilities: [chat, tools, vision], contextWindow: 1047576 }
              - { id: claude-sonnet-4, vendor: anthropic, capabilities: [chat, tools, vision, reasoning], contextWindow: 200000, maxOutputTokens: 1024 }
              - { id: text-embedding-3-small, vendor: openai, capabilities: [embeddings], contextWindow: 8191 }
              - { id: flaky, vendor: openai, capabilities: [chat], contextWindow: 8192 }
              - { id: throttled, vendor: openai, capabilities: [chat], contextWindow: 8192 }
              - { id: dead, vendor: openai, capabilities: [chat], contextWindow: 8192 }
              - { id: garbage, vendor: openai, capabilities: [chat], contextWindow: 8192 }
              - { id: cut-stream, vendor: openai, capabilities: [chat], contextWindow: 8192 }
              - { id: cut-stream-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }
              - { id: dead-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }
              - { id: garbage-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }
            deployments:
              - { id: gpt-4.1-sg, model: gpt-4.1, region: sg, price: { input: 2.00, output: 8.00, cacheRead: 0.50 } }
              - { id: gpt-4.1-azure-eu, model: gpt-4.1-azure, region: eu-west, via: azure, upstreamModel: gpt41-eu, price: { input: 2.00, output: 8.00 } }
              - { id: claude-us, model: claude-sonnet-4, region: us-east, price: { input: 3.00, output: 15.00, cacheRead: 0.30, cacheWrite: 3.75, cacheWrite1h: 6.00 } }
              - { id: embed-us, model: text-embedding-3-small, region: us-east, price: { input: 0.02, output: 0 } }
              - { id: flaky-sg, model: flaky, region: sg, priority: 1, endpoint: "{{sim}}/x/status=503/v1", price: { input: 1, output: 1 } }
              - { id: flaky-jp, model: flaky, region: jp-east, priority: 2, price: { input: 1, output: 2 } }
              - { id: throttled-sg, model: throttled, region: sg, priority: 1, endpoint: "{{sim}}/x/rate429=1/v1", price: { input: 1, output: 1 } }
              - { id: throttled-us, model: throttled, region: us-east, priority: 2, price: { input: 1, output: 1 } }
              - { id: dead-sg, model: dead, region: sg, priority: 1, endpoint: "{{sim}}/x/status=500/v1", price: { input: 1, output: 1 } }
              - { id: dead-jp, model: dead, region: jp-east, priority: 2, endpoint: "http://127.0.0.1:9/v1", price: { input: 1, output: 1 } }
              - { id: garbage-sg, model: garbage, region: sg, endpoint: "{{sim}}/x/garbage=1/v1", price: { input: 1, output: 1 } }
              - { id: cut-sg, model: cut-stream, region: sg, endpoint: "{{sim}}/x/disconnect=5/v1", price: { input: 1, output: 1 } }
              - { id: cut-claude-us, model: cut-stream-claude, region: us-east, endpoint: "{{sim}}/x/disconnect=5/v1", price: { input: 1, output: 1 } }
              - { id: dead-claude-us, model: dead-claude, region: us-east, priority: 1, endpoint: "{{sim}}/x/status=529/v1", price: { input: 1, output: 1 } }
              - { id: dead-claude-eu, model: dead-claude, region: eu-west, priority: 2, endpoint: "http://127.0.0.1:9/v1", price: { input: 1, output: 1 } }
              - { id: garbage-claude-us, model: garbage-claude, region: us-east, endpoint: "{{sim}}/x/garbage=1/v1", price: { input: 1, output: 1 } }
            """;
    }
}
