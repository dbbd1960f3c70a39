using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>Reading and writing helpers shared by both translation directions.</summary>
internal static class Json
{
    /// <summary>
    /// Bodies go to an API client or upstream, never into HTML, so non-ASCII text is written as is
    /// instead of \uXXXX escapes (which would inflate CJK text six-fold).
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// How deeply a body may nest: as deep as the front door accepts (<see cref="FrontDoor.RequestParser.MaxDepth"/>), so
    /// a request it took (a deep tool schema) is not called invalid JSON by its translation (the reader's default is 64).
    /// </summary>
    public const int MaxDepth = FrontDoor.RequestParser.MaxDepth;

    /// <summary>Parses exactly one JSON value; false for malformed input or trailing content.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out JsonDocument? document)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            document = JsonDocument.ParseValue(ref reader);
            // Trailing whitespace reads as the end; any other trailing token throws.
            if (reader.Read())
            {
                document.Dispose();
                document = null;
                return false;
            }
            return true;
        }
        catch (JsonException)
        {
            document = null;
            return false;
        }
    }

    /// <summary>
    /// Parses a body and translates its root. Malformed JSON, and strings System.Text.Json cannot decode (lone
    /// surrogate escapes such as "\ud800", on which <see cref="JsonElement.GetString"/> throws), are problems, never exceptions.
    /// </summary>
    public static TranslationResult Translate(ReadOnlySpan<byte> body, string what, Func<JsonElement, TranslationResult> translate)
    {
        if (!TryParse(body, out var document))
        {
            return TranslationResult.Fail(Problem.InvalidJson(what));
        }
        using (document)
        {
            try
            {
                return translate(document.RootElement);
            }
            catch (InvalidOperationException)
            {
                return TranslationResult.Fail(Problem.InvalidText(what));
            }
        }
    }

    /// <summary>Parses a JSON text held in a string (tool-call arguments).</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out JsonDocument? document)
    {
        try
        {
            document = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            document = null;
            return false;
        }
    }

    /// <summary>Gets a property that is present and not JSON null: OpenAI SDKs send explicit nulls for unset options.</summary>
    public static bool TryGet(this JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>Reads an optional string property; a present value of another type is a problem.</summary>
    public static Problem? OptionalString(this JsonElement obj, string name, string param, out string? value)
    {
        value = null;
        if (!obj.TryGet(name, out var element))
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            return Problem.WrongType(param, "a string");
        }
        value = element.GetString();
        return null;
    }

    /// <summary>Reads a required string property.</summary>
    public static Problem? RequiredString(this JsonElement obj, string name, string param, out string value)
    {
        var problem = obj.OptionalString(name, param, out var read);
        value = read ?? string.Empty;
        return problem ?? (read is null ? Problem.Missing(param) : null);
    }

    /// <summary>Reads an optional number property.</summary>
    public static Problem? OptionalNumber(this JsonElement obj, string name, string param, out double? value)
    {
        value = null;
        if (!obj.TryGet(name, out var element))
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var number))
        {
            return Problem.WrongType(param, "a number");
        }
        value = number;
        return null;
    }

    /// <summary>Reads an optional whole-number property.</summary>
    public static Problem? OptionalInteger(this JsonElement obj, string name, string param, out long? value)
    {
        value = null;
        if (!obj.TryGet(name, out var element))
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number))
        {
            return Problem.WrongType(param, "an integer");
        }
        value = number;
        return null;
    }

    /// <summary>Reads an optional boolean property.</summary>
    public static Problem? OptionalBool(this JsonElement obj, string name, string param, out bool? value)
    {
        value = null;
        if (!obj.TryGet(name, out var element))
        {
            return null;
        }
        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return Problem.WrongType(param, "a boolean");
        }
        value = element.GetBoolean();
        return null;
    }

    /// <summary>A string property or null when absent or of another type (for upstream bodies, read leniently).</summary>
    public static string? StringOrNull(this JsonElement obj, string name) =>
        obj.TryGet(name, out var element) && element.ValueKind == JsonValueKind.String ? element.GetString() : null;

    /// <summary>A property that is a JSON number fitting an int (for upstream indexes, read leniently).</summary>
    public static bool TryGetInt32(this JsonElement obj, string name, out int value)
    {
        value = 0;
        return obj.TryGet(name, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out value);
    }

    /// <summary>A whole-number property or 0 when absent or of another type (for upstream usage, read leniently).</summary>
    public static long Int64OrZero(this JsonElement obj, string name) =>
        obj.TryGet(name, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) ? value : 0;

    /// <summary>Writes a JSON value compactly into a string (Anthropic tool input → OpenAI arguments).</summary>
    public static string ToCompactString(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            element.WriteTo(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Starts writing a body; <see cref="Finish"/> returns its bytes.</summary>
    public static Utf8JsonWriter StartBody(out ArrayBufferWriter<byte> buffer, int sizeHint)
    {
        buffer = new ArrayBufferWriter<byte>(Math.Max(256, sizeHint));
        return new Utf8JsonWriter(buffer, WriterOptions);
    }

    public static TranslationResult Finish(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, string? anomaly = null)
    {
        writer.Flush();
        return TranslationResult.Ok(buffer.WrittenSpan.ToArray(), anomaly);
    }
}
