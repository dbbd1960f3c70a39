using System.Text;
using Corridor.Core.Tenants;

namespace Corridor.Core.Screening;

/// <summary>A row the import left out, with the line it starts on (the header is line 1) and why.</summary>
public sealed record CsvRejection(int Line, string Reason);

/// <summary>What an import read: the entries, the rows it rejected, and whether the header was usable at all.</summary>
public sealed record DeniedPartyCsvResult(IReadOnlyList<DeniedPartyEntry> Entries, IReadOnlyList<CsvRejection> Rejected, int RowsRead, string? HeaderError)
{
    public bool HeaderValid => HeaderError is null;
}

/// <summary>
/// Reads the denied-party list from CSV (RFC 4180): a header row naming the columns <c>name</c>, <c>aliases</c>, <c>country</c>
/// and <c>program</c> in any order (case ignored; other columns are ignored), then one party per row. Fields may be quoted
/// (<c>"Acme, Inc."</c>, a quote inside doubled: <c>""</c>), and a quoted field may span lines. Aliases are separated by <c>;</c>.
/// A row without a name, with a country that is not an ISO 3166-1 alpha-2 code, or with the wrong number of fields is
/// rejected with its line number; blank lines are skipped.
/// </summary>
public static class DeniedPartyCsv
{
    private static readonly string[] Columns = ["name", "aliases", "country", "program"];

    public static DeniedPartyCsvResult Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var records = new CsvRecordReader(reader);
        if (!records.TryRead(out var header, out var headerLine, out var headerError))
        {
            return new DeniedPartyCsvResult([], [], 0, "the file is empty: the first line must name the columns name,aliases,country,program");
        }

        if (headerError is not null)
        {
            return new DeniedPartyCsvResult([], [], 0, $"line {headerLine}: {headerError}");
        }

        var names = header.Select(h => h.Trim().TrimStart('\uFEFF').ToLowerInvariant()).ToList();
        var missing = Columns.Where(c => !names.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            return new DeniedPartyCsvResult([], [], 0,
                $"line 1: the header lacks the column(s) {string.Join(", ", missing)}; it must name name,aliases,country,program");
        }

        var nameAt = names.IndexOf("name");
        var aliasesAt = names.IndexOf("aliases");
        var countryAt = names.IndexOf("country");
        var programAt = names.IndexOf("program");

        var entries = new List<DeniedPartyEntry>();
        var rejected = new List<CsvRejection>();
        var rowsRead = 0;
        while (records.TryRead(out var fields, out var line, out var error))
        {
            if (fields.Count == 1 && string.IsNullOrWhiteSpace(fields[0]) && error is null)
            {
                continue;
            }

            rowsRead++;
            if (error is not null)
            {
                rejected.Add(new CsvRejection(line, error));
                continue;
            }

            if (fields.Count != names.Count)
            {
                rejected.Add(new CsvRejection(line, $"expected {names.Count} fields, found {fields.Count}"));
                continue;
            }

            var name = Collapse(fields[nameAt]);
            if (name.Length == 0)
            {
                rejected.Add(new CsvRejection(line, "the name is empty"));
                continue;
            }

            if (NameNormalizer.Tokens(name).Count == 0)
            {
                rejected.Add(new CsvRejection(line, $"the name '{name}' has no letters or digits"));
                continue;
            }

            string? country = null;
            var countryText = fields[countryAt].Trim();
            if (countryText.Length > 0)
            {
                if (!TenantRules.TryNormalizeCountry(countryText, out country))
                {
                    rejected.Add(new CsvRejection(line, $"'{countryText}' is not an ISO 3166-1 alpha-2 country code"));
                    continue;
                }
            }

            var aliases = fields[aliasesAt]
                .Split(';')
                .Select(Collapse)
                .Where(a => a.Length > 0 && NameNormalizer.Tokens(a).Count > 0)
                .Distinct(StringComparer.Ordinal)
                .ToList();
            entries.Add(new DeniedPartyEntry(name, aliases, country, Collapse(fields[programAt])));
        }

        return new DeniedPartyCsvResult(entries, rejected, rowsRead, null);
    }

    /// <summary>Trims and turns every run of white space (line breaks in quoted fields too) into one space.</summary>
    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Splits CSV text into records, tracking the line each one starts on.</summary>
    private sealed class CsvRecordReader(TextReader reader)
    {
        private int _line = 1;
        private bool _atEnd;

        public bool TryRead(out List<string> fields, out int startLine, out string? error)
        {
            fields = [];
            startLine = _line;
            error = null;
            if (_atEnd || reader.Peek() < 0)
            {
                _atEnd = true;
                return false;
            }

            var field = new StringBuilder();
            var quoted = false;
            var fieldStart = true;
            var afterClosingQuote = false;
            while (true)
            {
                var next = reader.Read();
                if (next < 0)
                {
                    _atEnd = true;
                    if (quoted)
                    {
                        error ??= "a quoted field is not closed before the end of the file";
                    }

                    fields.Add(field.ToString());
                    return true;
                }

                var c = (char)next;
                if (quoted)
                {
                    if (c == '"')
                    {
                        if (reader.Peek() == '"')
                        {
                            reader.Read();
                            field.Append('"');
                        }
                        else
                        {
                            quoted = false;
                            afterClosingQuote = true;
                        }
                    }
                    else
                    {
                        if (c == '\n')
                        {
                            _line++;
                        }

                        field.Append(c);
                    }

                    continue;
                }

                switch (c)
                {
                    case ',':
                        fields.Add(field.ToString());
                        field.Clear();
                        fieldStart = true;
                        afterClosingQuote = false;
                        continue;
                    case '\r':
                        continue;
                    case '\n':
                        _line++;
                        fields.Add(field.ToString());
                        return true;
                    case '"' when fieldStart:
                        quoted = true;
                        fieldStart = false;
                        continue;
                    default:
                        if (afterClosingQuote && !char.IsWhiteSpace(c))
                        {
                            error ??= "text follows a closing quote (a quote inside a quoted field must be doubled: \"\")";
                        }

                        if (fieldStart && char.IsWhiteSpace(c))
                        {
                            // Spaces before an opening quote do not start the field's text.
                            field.Append(c);
                            continue;
                        }

                        fieldStart = false;
                        field.Append(c);
                        continue;
                }
            }
        }
    }
}
