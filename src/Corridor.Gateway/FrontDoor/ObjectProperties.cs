using System.Text.Json;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// The properties of one JSON object of a body the front door accepted, in order, each as the client wrote it: its name as
/// every JSON parser reads it (escapes decoded, <see cref="RequestParser.TryName"/>), where it begins, where its value begins
/// and ends, and a reader at its value. What the rewrites of a request copy property by property, so that nothing they do
/// not change is parsed or re-encoded.
/// </summary>
internal ref struct ObjectProperties
{
    private readonly Span<byte> _unescaped;
    private Utf8JsonReader _reader;

    /// <param name="json">One object, valid JSON within <see cref="RequestParser.MaxDepth"/>.</param>
    /// <param name="unescaped">Room for an escaped name (<see cref="RequestParser.MaxEscapedName"/> bytes).</param>
    public ObjectProperties(ReadOnlySpan<byte> json, Span<byte> unescaped)
    {
        _unescaped = unescaped;
        _reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = RequestParser.MaxDepth });
        _reader.Read();
    }

    /// <summary>The property's name, its escapes decoded.</summary>
    public ReadOnlySpan<byte> Name { get; private set; }

    /// <summary>Where the property (its name's opening quote) begins.</summary>
    public int Start { get; private set; }

    /// <summary>Where its value begins.</summary>
    public int ValueStart { get; private set; }

    /// <summary>Where its value ends: the property is <c>json[Start..End]</c>.</summary>
    public int End { get; private set; }

    /// <summary>A reader at the value's first token.</summary>
    public Utf8JsonReader Value { get; private set; }

    /// <summary>Moves to the next property; false after the last.</summary>
    public bool MoveNext()
    {
        if (!_reader.Read() || _reader.TokenType != JsonTokenType.PropertyName)
        {
            return false;
        }
        Start = (int)_reader.TokenStartIndex;
        RequestParser.TryName(in _reader, _unescaped, out var name);
        Name = name;
        _reader.Read();
        ValueStart = (int)_reader.TokenStartIndex;
        Value = _reader;
        _reader.Skip();
        End = (int)_reader.BytesConsumed;
        return true;
    }
}
