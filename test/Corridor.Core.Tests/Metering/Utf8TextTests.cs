using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;

namespace Corridor.Core.Tests.Metering;

public sealed class Utf8TextTests
{
    [Fact]
    public void ValidUtf8_IsKeptByteForByte()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"content":"東京の天気は？ 🌧"}""");

        var text = Utf8Text.Copy(bytes);

        Assert.Equal(bytes, text.Span.ToArray());
        Assert.Equal(bytes.Length, text.Length);
        Assert.Equal("""{"content":"東京の天気は？ 🌧"}""", text.ToString());
    }

    [Fact]
    public void ACopy_DoesNotChangeWithItsSource()
    {
        var bytes = Encoding.UTF8.GetBytes("hello");
        var text = Utf8Text.Copy(bytes);

        bytes[0] = (byte)'j';

        Assert.Equal("hello", text.ToString());
    }

    [Fact]
    public void InvalidSequences_BecomeReplacementCharacters_AsDecodingWould()
    {
        byte[] bytes = [(byte)'a', 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, (byte)'z'];

        var text = Utf8Text.Copy(bytes);

        Assert.True(System.Text.Unicode.Utf8.IsValid(text.Span));
        Assert.Equal(Encoding.UTF8.GetString(bytes), text.ToString());
        Assert.Contains('\uFFFD', text.ToString());
    }

    [Fact]
    public void Texts_AreEqualWhenTheirBytesAre()
    {
        var a = Utf8Text.From("Grüße")!;
        var b = Utf8Text.Copy(Encoding.UTF8.GetBytes("Grüße"));

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Utf8Text.From("Grusse"));
        Assert.False(a.Equals(null));
        Assert.Null(Utf8Text.From(null));
        Assert.Equal(0, Utf8Text.From("")!.Length);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("quote \" backslash \\ newline \n tab \t")]
    [InlineData("東京 🌧")]
    [InlineData("")]
    public void InJson_ItIsAString_ReadBackEqual(string value)
    {
        var json = JsonSerializer.Serialize(new Holder(Utf8Text.From(value)));

        Assert.Equal(JsonSerializer.Serialize(new { Body = value }), json);
        Assert.Equal(Utf8Text.From(value), JsonSerializer.Deserialize<Holder>(json)!.Body);
    }

    [Fact]
    public void InJson_NullIsNull()
    {
        Assert.Null(JsonSerializer.Deserialize<Holder>("""{"Body":null}""")!.Body);
        Assert.Equal("""{"Body":null}""", JsonSerializer.Serialize(new Holder(null)));
    }

    private sealed record Holder(Utf8Text? Body);
}
