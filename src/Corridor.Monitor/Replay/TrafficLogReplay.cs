using System.Buffers;
using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Replay;

/// <summary>A line of the log that did not parse: its 1-based number and why.</summary>
public readonly record struct BadLine(long Number, string Error);

/// <summary>What a replay read.</summary>
public sealed record ReplayResult(long Requests, long SkippedLines, TimeSpan Elapsed)
{
    public double RequestsPerSecond => Elapsed.TotalSeconds > 0 ? Requests / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Runs a traffic log v1 through a monitor, with the log's timestamps as its clock. Lines that do not parse are
/// reported (with their numbers) and skipped; nothing in the log stops the replay.
/// </summary>
public static class TrafficLogReplay
{
    private const int MaxLineBytes = 64 * 1024 * 1024;

    /// <summary>Opens a log file, gunzipping it when it is gzip (by its first bytes, whatever its name).</summary>
    public static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        Span<byte> magic = stackalloc byte[2];
        var read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
        }

        return file;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReplayResult Run(Stream log, DistillationMonitor monitor, Action<BadLine>? badLine = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(monitor);
        var stopwatch = Stopwatch.StartNew();
        var parser = new TrafficLogLine();
        long requests = 0, skipped = 0, number = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        var start = 0;
        var end = 0;
        var eof = false;
        var skippingLongLine = false;
        try
        {
            while (true)
            {
                var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (newline < 0)
                {
                    if (eof)
                    {
                        if (end > start && !skippingLongLine)
                        {
                            number++;
                            Process(buffer.AsSpan(start, end - start));
                        }

                        break;
                    }

                    // Make room: move the partial line to the front, or grow the buffer for a long line.
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else if (end == buffer.Length)
                    {
                        if (buffer.Length >= MaxLineBytes)
                        {
                            // A line longer than any request could be: skip to its end.
                            if (!skippingLongLine)
                            {
                                number++;
                                skipped++;
                                badLine?.Invoke(new BadLine(number, $"line longer than {MaxLineBytes / (1024 * 1024)} MB"));
                                skippingLongLine = true;
                            }

                            end = 0;
                        }
                        else
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                            Buffer.BlockCopy(buffer, 0, bigger, 0, end);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                        }
                    }

                    var read = log.Read(buffer, end, buffer.Length - end);
                    if (read == 0)
                    {
                        eof = true;
                    }

                    end += read;
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }

                if (skippingLongLine)
                {
                    skippingLongLine = false;
                }
                else
                {
                    number++;
                    Process(buffer.AsSpan(start, newline));
                }

                start += newline + 1;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        monitor.Flush();
        return new ReplayResult(requests, skipped, stopwatch.Elapsed);

        void Process(ReadOnlySpan<byte> line)
        {
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Trim(" \t"u8).IsEmpty)
            {
                return;
            }

            if (!parser.TryParse(line, out _, out var features, out _, out var error))
            {
                skipped++;
                badLine?.Invoke(new BadLine(number, error ?? "unreadable"));
                return;
            }

            monitor.Observe(features);
            requests++;
        }
    }
}
