using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Corridor.Cli.Output;

/// <summary>How values look: ISO 8601 UTC times, grouped integers, exact money; JSON through <see cref="Utf8JsonWriter"/>.</summary>
internal static class CliFormat
{
    public const string None = "-";

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>For tables: <c>2026-06-01T08:00:00Z</c>.</summary>
    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : None;

    /// <summary>For JSON: <c>2026-06-01T08:00:00.123Z</c>, as in the traffic log.</summary>
    public static string JsonTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Money(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A screening score: <c>0.9</c>, <c>0.917</c>.</summary>
    public static string Score(double value) => value.ToString("0.0##", CultureInfo.InvariantCulture);

    public static string OrNone(string? value) => string.IsNullOrEmpty(value) ? None : value;

    /// <summary>Writes one indented JSON document to <paramref name="output"/>.</summary>
    public static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(json);
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>Writes a JSON array with one object per item.</summary>
    public static void WriteJsonArray<T>(TextWriter output, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeProperties) => WriteJson(output, json =>
    {
        json.WriteStartArray();
        foreach (var item in items)
        {
            json.WriteStartObject();
            writeProperties(json, item);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    public static void WriteTimeOrNull(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            json.WriteString(name, JsonTime(t));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
