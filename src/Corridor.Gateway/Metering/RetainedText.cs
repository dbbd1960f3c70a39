using System.Text;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Text kept up to a cap, in pieces as they come (a whole answer's content is one piece, a stream's many). One piece is
/// kept as the string it becomes; pieces after it go into a builder. The string is made once and kept until more comes,
/// however often it is read (the ledger, the monitor and shadow evaluation each read it).
/// </summary>
internal sealed class RetainedText(int cap)
{
    private string? _text;
    private StringBuilder? _pieces;

    public int Length { get; private set; }

    /// <summary>Appends as much of <paramref name="piece"/> as the cap leaves room for.</summary>
    public void Append(ReadOnlySpan<char> piece)
    {
        var take = Math.Min(piece.Length, cap - Length);
        if (take <= 0)
        {
            return;
        }
        piece = piece[..take];
        if (_pieces is null && Length == 0)
        {
            _text = new string(piece);
        }
        else
        {
            _pieces ??= new StringBuilder(_text, Math.Max(2 * (Length + take), 64));
            _pieces.Append(piece);
            _text = null;
        }
        Length += take;
    }

    /// <summary>Drops what was appended after the first <paramref name="length"/> characters.</summary>
    public void Truncate(int length)
    {
        if (length >= Length)
        {
            return;
        }
        if (_pieces is null)
        {
            _text = _text![..length];
        }
        else
        {
            _pieces.Length = length;
            _text = null;
        }
        Length = length;
    }

    public override string ToString() => _text ??= _pieces?.ToString() ?? "";
}
