using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Corridor.Core.Metering;

/// <summary>
/// Text kept as the UTF-8 bytes it came in, such as a retained request body: the gateway reads a body as UTF-8 and the
/// ledger's journal and SQLite store UTF-8, so the body goes from one to the other without becoming a .NET string (two
/// bytes a character) and back. Always valid UTF-8: bytes that are not have each invalid sequence replaced by U+FFFD,
/// as decoding them into a string would, so a store that checks its text (PostgreSQL) never refuses a row for them.
/// Immutable; equal when the bytes are.
/// </summary>
[JsonConverter(typeof(Utf8TextJsonConverter))]
public sealed class Utf8Text : IEquatable<Utf8Text>
{
    private readonly byte[] _bytes;

    private Utf8Text(byte[] bytes) => _bytes = bytes;

    /// <summary>Copies <paramref name="utf8"/>; invalid sequences become U+FFFD.</summary>
    public static Utf8Text Copy(ReadOnlySpan<byte> utf8) =>
        new(Utf8.IsValid(utf8) ? utf8.ToArray() : Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(utf8)));

    /// <summary>The UTF-8 of <paramref name="text"/> (a lone surrogate becomes U+FFFD), or null for null.</summary>
    public static Utf8Text? From(string? text) => text is null ? null : new(Encoding.UTF8.GetBytes(text));

    public ReadOnlySpan<byte> Span => _bytes;

    public ReadOnlyMemory<byte> Memory => _bytes;

    /// <summary>Length in bytes.</summary>
    public int Length => _bytes.Length;

    /// <summary>The text decoded (a new string each call: for reading and display, not for the request path).</summary>
    public override string ToString() => Encoding.UTF8.GetString(_bytes);

    public bool Equals(Utf8Text? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => Equals(obj as Utf8Text);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }
}

/// <summary>A <see cref="Utf8Text"/> in JSON is a string (as it was when the ledger's text was a .NET string).</summary>
public sealed class Utf8TextJsonConverter : JsonConverter<Utf8Text>
{
    public override Utf8Text? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null
        : reader.ValueIsEscaped || reader.HasValueSequence ? Utf8Text.From(reader.GetString())
        : Utf8Text.Copy(reader.ValueSpan);

    public override void Write(Utf8JsonWriter writer, Utf8Text value, JsonSerializerOptions options) => writer.WriteStringValue(value.Span);
}
