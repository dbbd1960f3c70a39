namespace Corridor.Cli.Output;

/// <summary>One column of a <see cref="TextTable"/>; numbers read best right-aligned.</summary>
internal readonly record struct Column(string Header, bool AlignRight = false);

/// <summary>A plain table for people: a header row, columns padded to their widest cell, two spaces apart.</summary>
internal sealed class TextTable(params Column[] columns)
{
    private const string Gap = "  ";

    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public void Add(params string[] cells)
    {
        if (cells.Length != columns.Length)
        {
            throw new ArgumentException($"Expected {columns.Length} cells, got {cells.Length}.", nameof(cells));
        }

        _rows.Add(cells);
    }

    public void WriteTo(TextWriter writer)
    {
        var widths = new int[columns.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            widths[i] = Math.Max(columns[i].Header.Length, _rows.Count == 0 ? 0 : _rows.Max(row => row[i].Length));
        }

        WriteRow(writer, widths, [.. columns.Select(c => c.Header)]);
        foreach (var row in _rows)
        {
            WriteRow(writer, widths, row);
        }
    }

    private void WriteRow(TextWriter writer, int[] widths, string[] cells)
    {
        var line = new System.Text.StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                line.Append(Gap);
            }

            line.Append(columns[i].AlignRight ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
        }

        writer.WriteLine(line.ToString().TrimEnd());
    }
}
