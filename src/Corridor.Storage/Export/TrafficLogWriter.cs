using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Corridor.Core.Json;
using Corridor.Core.Metering;

namespace Corridor.Storage.Export;

/// <summary>
/// How many ledger rows an export wrote, and how many it left out: rows without a tenant (<paramref name="Skipped"/>),
/// shadow requests, the operator's own traffic (<paramref name="Shadow"/>), and token counts, which the monitor does not
/// observe (<paramref name="TokenCounts"/>).
/// </summary>
public sealed record TrafficLogExportResult(long Written, long Skipped, long Shadow, long TokenCounts = 0);

/// <summary>
/// Writes ledger rows as traffic log v1 (<c>spec/traffic-log.md</c>): JSON Lines, one request per line.
/// Rows without a tenant (unknown keys) are not traffic of any customer and are skipped; shadow requests are the operator's
/// own traffic and are left out too, counted apart, as are token counts: the live monitor does not observe them (they ask
/// for no output), so <c>replay</c> must not either.
/// </summary>
public sealed class TrafficLogWriter : IAsyncDisposable
{
    public const int FormatVersion = 1;

    private const int FlushThreshold = 64 * 1024;
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Deeper than any body the front door accepts (128 levels), so every retained body is exported whole.</summary>
    private const int MaxBodyDepth = 256;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // A data file, never embedded in HTML: keep non-ASCII text readable instead of \u-escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushThreshold * 2);
    private readonly Utf8JsonWriter _json;

    public TrafficLogWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;
        _json = new Utf8JsonWriter(_buffer, WriterOptions);
    }

    public long Written { get; private set; }

    /// <summary>Rows left out because no tenant made them (unknown or missing keys).</summary>
    public long Skipped { get; private set; }

    /// <summary>Shadow requests' rows left out (<see cref="LedgerEntry.ShadowOf"/>).</summary>
    public long Shadow { get; private set; }

    /// <summary>Token counts' rows left out (<see cref="LedgerEntry.IsTokenCount"/>).</summary>
    public long TokenCounts { get; private set; }

    /// <summary>True when <paramref name="path"/> names a gzip file (<c>.gz</c>).</summary>
    public static bool IsGzipPath(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Writes <paramref name="entries"/> to <paramref name="path"/> (gzip when it ends in <c>.gz</c>). The file appears
    /// only when the export completes: it is written beside the target first, so a failed export leaves no partial log.
    /// Unless <paramref name="overwrite"/>, a file that appeared at <paramref name="path"/> meanwhile is kept and the
    /// export fails (<see cref="IOException"/>).
    /// </summary>
    public static async Task<TrafficLogExportResult> ExportAsync(IAsyncEnumerable<LedgerEntry> entries, string path, bool overwrite, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var target = Path.GetFullPath(path);
        var temporary = target + ".partial";
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            TrafficLogExportResult result;
            var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
            Stream output = IsGzipPath(target) ? new GZipStream(file, CompressionLevel.Optimal) : file;
            await using (var writer = new TrafficLogWriter(output))
            {
                await foreach (var entry in entries.WithCancellation(cancellationToken))
                {
                    await writer.WriteAsync(entry, cancellationToken);
                }

                await writer.FlushAsync(cancellationToken);
                result = new TrafficLogExportResult(writer.Written, writer.Skipped, writer.Shadow, writer.TokenCounts);
            }

            File.Move(temporary, target, overwrite);
            return result;
        }
        catch
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }

            throw;
        }
    }

    /// <summary>
    /// Writes one line; returns false (and writes nothing) for a row without a tenant, a shadow request's row (the
    /// operator's own traffic, not the tenant's), or a token count's.
    /// </summary>
    public async ValueTask<bool> WriteAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.ShadowOf is not null)
        {
            Shadow++;
            return false;
        }

        if (entry.IsTokenCount)
        {
            TokenCounts++;
            return false;
        }

        if (entry.TenantId is null)
        {
            Skipped++;
            return false;
        }

        WriteLine(entry, entry.TenantId);
        Written++;
        if (_buffer.WrittenCount >= FlushThreshold)
        {
            await WriteBufferAsync(cancellationToken);
        }

        return true;
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await WriteBufferAsync(cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await WriteBufferAsync(CancellationToken.None);
        await _json.DisposeAsync();
        if (!_leaveOpen)
        {
            await _stream.DisposeAsync();
        }
    }

    private void WriteLine(LedgerEntry entry, string tenantId)
    {
        var json = _json;
        json.Reset();
        json.WriteStartObject();
        json.WriteNumber("v"u8, FormatVersion);
        json.WriteString("id"u8, entry.RequestId);
        Span<char> ts = stackalloc char[TimestampFormat.Length];
        entry.Time.UtcDateTime.TryFormat(ts, out var tsLength, TimestampFormat, CultureInfo.InvariantCulture);
        json.WriteString("ts"u8, ts[..tsLength]);
        json.WriteString("tenant"u8, tenantId);
        if (entry.KeyId is not null)
        {
            json.WriteString("key"u8, entry.KeyId);
        }

        json.WriteString("model"u8, entry.Model);
        json.WriteString("endpoint"u8, entry.Endpoint);
        // A request Corridor ran for one of the tenant's batches: the batch (a field of Corridor's own, which a v1 reader
        // ignores). Its time is when it ran, not when its client asked, so a replay leaves it out of the client's pacing.
        if (entry.BatchId is not null)
        {
            json.WriteString("batch"u8, entry.BatchId);
        }

        if (entry.ClientIp is not null || entry.UserAgent is not null)
        {
            json.WriteStartObject("client"u8);
            WriteIfPresent(json, "ip"u8, entry.ClientIp);
            WriteIfPresent(json, "user_agent"u8, entry.UserAgent);
            json.WriteEndObject();
        }

        json.WritePropertyName("request"u8);
        WriteRequest(json, entry);

        json.WriteStartObject("response"u8);
        json.WriteNumber("status"u8, entry.Status);
        WriteIfPresent(json, "text"u8, entry.ResponseText);
        WriteIfPresent(json, "finish_reason"u8, entry.FinishReason);
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, entry.InputTokens);
        json.WriteNumber("completion_tokens"u8, entry.OutputTokens);
        // Of the prompt tokens, those the vendor's prompt cache served or took, in OpenAI's and Anthropic's own names (unknown
        // fields, which a v1 reader ignores); written only when there were any.
        if (entry.CacheReadTokens > 0)
        {
            json.WriteStartObject("prompt_tokens_details"u8);
            json.WriteNumber("cached_tokens"u8, entry.CacheReadTokens);
            json.WriteEndObject();
        }

        if (entry.CacheWriteTokens > 0)
        {
            json.WriteNumber("cache_creation_input_tokens"u8, entry.CacheWriteTokens);
        }

        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteNumber("latency_ms"u8, entry.LatencyMs);
        json.WriteEndObject();
        json.Flush();
        _buffer.Write("\n"u8);
    }

    /// <summary>
    /// The retained body as the client sent it, with the whitespace between its tokens taken out so the record stays on one
    /// line. Its bytes are copied, not decoded and encoded again: a decoder refuses what JSON allows (an escaped lone
    /// surrogate, <c>"\ud800"</c>) and one such body would stop the whole export. A body that is absent, cut short by
    /// retention, not UTF-8 or not a JSON object is replaced by <c>{"model": ...}</c> so the line still parses.
    /// </summary>
    private static void WriteRequest(Utf8JsonWriter json, LedgerEntry entry)
    {
        if (entry.RequestBody is { Length: > 0 } body && JsonObjectText.IsOneObject(body.Span, MaxBodyDepth))
        {
            // Escaping a line or paragraph separator takes 6 bytes for 3.
            var compact = ArrayPool<byte>.Shared.Rent(body.Length * 2);
            try
            {
                json.WriteRawValue(compact.AsSpan(0, Compact(body.Span, compact)), skipInputValidation: true);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(compact);
            }

            return;
        }

        json.WriteStartObject();
        json.WriteString("model"u8, entry.Model);
        json.WriteEndObject();
    }

    /// <summary>
    /// Copies valid JSON without the whitespace outside its strings, escaping U+2028 and U+2029 inside them (some readers
    /// end a line there, as the writer's own escaping does); returns the length written.
    /// </summary>
    private static int Compact(ReadOnlySpan<byte> json, Span<byte> destination)
    {
        var length = 0;
        var inString = false;
        var escaped = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                if (b == 0xE2 && json[(i + 1)..] is [0x80, var last and (0xA8 or 0xA9), ..])
                {
                    length += Encoding.ASCII.GetBytes(last == 0xA8 ? "\\u2028" : "\\u2029", destination[length..]);
                    i += 2;
                    escaped = false;
                    continue;
                }

                inString = escaped || b != (byte)'"';
                escaped = !escaped && b == (byte)'\\';
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                continue;
            }
            else
            {
                inString = b == (byte)'"';
            }

            destination[length++] = b;
        }

        return length;
    }

    private static void WriteIfPresent(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private async ValueTask WriteBufferAsync(CancellationToken cancellationToken)
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
    }
}
