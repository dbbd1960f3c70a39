using System.Text.Json;

namespace Corridor.Core.Json;

/// <summary>Checks on JSON text as bytes, without building a document.</summary>
public static class JsonObjectText
{
    /// <summary>
    /// Whether <paramref name="utf8"/> is one JSON object and nothing else but whitespace, in valid UTF-8, nested no deeper
    /// than <paramref name="maxDepth"/>.
    /// </summary>
    public static bool IsOneObject(ReadOnlySpan<byte> utf8, int maxDepth = 64)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = maxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            // Anything after the object but whitespace throws.
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
