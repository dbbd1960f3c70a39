using System.Text.Json;

namespace Corridor.Simulator.Protocol;

/// <summary>
/// The models <c>GET /v1/models</c> lists. The simulator answers any model id; the list is for
/// clients that look before they ask.
/// </summary>
internal static class ModelCatalog
{
    public const string Owner = "corridor-simulator";

    // Fixed, so listings are deterministic.
    private const long Created = 1735689600;
    private const string CreatedAt = "2025-01-01T00:00:00Z";

    private static readonly string[] OpenAIModels =
    [
        "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o4-mini", "deepseek-v4",
        "text-embedding-3-small", "text-embedding-3-large",
    ];

    private static readonly (string Id, string DisplayName)[] AnthropicModels =
    [
        ("claude-sonnet-4", "Claude Sonnet 4 (simulated)"),
        ("claude-opus-4", "Claude Opus 4 (simulated)"),
        ("claude-haiku-4", "Claude Haiku 4 (simulated)"),
    ];

    public static void WriteOpenAI(Utf8JsonWriter writer, object? _)
    {
        writer.WriteStartObject();
        writer.WriteString("object"u8, "list"u8);
        writer.WriteStartArray("data"u8);
        foreach (var id in OpenAIModels)
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("object"u8, "model"u8);
            writer.WriteNumber("created"u8, Created);
            writer.WriteString("owned_by"u8, Owner);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteAnthropic(Utf8JsonWriter writer, object? _)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data"u8);
        foreach (var (id, displayName) in AnthropicModels)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "model"u8);
            writer.WriteString("id"u8, id);
            writer.WriteString("display_name"u8, displayName);
            writer.WriteString("created_at"u8, CreatedAt);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteBoolean("has_more"u8, false);
        writer.WriteString("first_id"u8, AnthropicModels[0].Id);
        writer.WriteString("last_id"u8, AnthropicModels[^1].Id);
        writer.WriteEndObject();
    }
}
