using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Corridor.Core.Metering;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// How ledger rows are laid out in a journal segment (<see cref="LedgerJournal"/>): the segment starts with
/// <see cref="Header"/>, then the frames of each appended batch (one, unless the batch is larger than
/// <see cref="FrameTargetBytes"/>). A frame is its payload's length (int32, little-endian), the payload's CRC-32C (uint32),
/// and the payload: the row count (int32; its top byte says the rows' layout, <see cref="RowLayout"/>), then each row's
/// fields in <see cref="LedgerEntry"/>'s order.
/// Integers are LEB128 (signed ones zig-zagged), strings their UTF-8 length plus one (0 for null) and their bytes, money the
/// decimal's four 32-bit parts, times UTC Unix milliseconds (the store's own precision).
/// </summary>
internal static class LedgerJournalFormat
{
    /// <summary>The first bytes of every segment; a later layout gets another.</summary>
    public static ReadOnlySpan<byte> Header => "CLEDGER1"u8;

    public const int FrameHeaderLength = 8;

    /// <summary>
    /// The layout of the rows this Corridor writes, kept in the top byte of each frame's row count (a frame of at most a
    /// few MiB never holds 2^24 rows): 0, the first layout, ends a row with <c>shadow_of</c>; 1 adds the prompt cache's
    /// read and write tokens; 2 the batch a row's request was run for. Frames of every layout are read, so a journal left by an earlier Corridor is replayed whole;
    /// an earlier Corridor reads a frame of a later layout as damage and sets its segment aside, losing nothing.
    /// </summary>
    private const int RowLayout = 2;

    private const int LayoutShift = 24;

    /// <summary>A frame is closed once its rows pass this length, so no frame nears the 2 GiB its length can say however large a batch's bodies are.</summary>
    public const int FrameTargetBytes = 1024 * 1024;

    /// <summary>Appends the frames holding <paramref name="entries"/> to <paramref name="buffer"/>.</summary>
    public static void WriteFrames(Buffer buffer, ReadOnlySpan<LedgerEntry> entries)
    {
        var start = buffer.Length;
        var count = 0;
        foreach (var e in entries)
        {
            if (count == 0)
            {
                start = buffer.Length;
                buffer.Advance(FrameHeaderLength + sizeof(int));
            }

            buffer.Text(e.RequestId);
            buffer.Signed(e.Time.ToUnixTimeMilliseconds());
            buffer.Text(e.TenantId);
            buffer.Text(e.KeyId);
            buffer.Text(e.Model);
            buffer.Text(e.Endpoint);
            buffer.Text(e.DeploymentId);
            buffer.Text(e.Region);
            buffer.Signed(e.Status);
            buffer.Signed((long)e.Outcome);
            buffer.Signed(e.InputTokens);
            buffer.Signed(e.OutputTokens);
            buffer.Money(e.Cost);
            buffer.Unsigned(e.Estimated ? 1UL : 0UL);
            buffer.Signed(e.LatencyMs);
            buffer.Unsigned(e.Billable ? 1UL : 0UL);
            buffer.Text(e.ErrorCode);
            buffer.Text(e.ClientIp);
            buffer.Text(e.UserAgent);
            buffer.Text(e.RequestBody);
            buffer.Text(e.ResponseText);
            buffer.Text(e.FinishReason);
            buffer.Text(e.Vendor);
            buffer.Text(e.DecisionId);
            buffer.Money(e.Revenue);
            buffer.Text(e.ShadowOf);
            buffer.Signed(e.CacheReadTokens);
            buffer.Signed(e.CacheWriteTokens);
            buffer.Text(e.BatchId);
            count++;
            if (buffer.Length - start >= FrameTargetBytes)
            {
                CloseFrame(buffer, start, count);
                count = 0;
            }
        }

        if (count > 0)
        {
            CloseFrame(buffer, start, count);
        }
    }

    private static void CloseFrame(Buffer buffer, int start, int count)
    {
        var frame = buffer.Written[start..];
        var payload = frame[FrameHeaderLength..];
        BinaryPrimitives.WriteInt32LittleEndian(payload, (RowLayout << LayoutShift) | count);
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Crc32C(payload));
    }

    /// <summary>
    /// Reads the frames of one segment's bytes (after the header) into <paramref name="rows"/>, up to a zero length, which
    /// is where a segment's frames end (the rest of it was never written, or a crash stopped an append before its length
    /// went in: that batch was never acknowledged). Returns false when the bytes end in a frame cut short (a crash in the
    /// middle of a write into a segment written with <c>write</c>, as segments were before they were mapped; a mapped
    /// segment, zeros past its frames, never holds one, see <see cref="LedgerJournal"/>'s replay); throws
    /// <see cref="InvalidDataException"/> when a whole frame does not match its checksum or a length is negative.
    /// </summary>
    public static bool ReadFrames(ReadOnlySpan<byte> frames, List<LedgerEntry> rows) => ReadFrames(frames, rows, lastMayBeTorn: false, out _);

    /// <summary>
    /// As <see cref="ReadFrames(ReadOnlySpan{byte}, List{LedgerEntry})"/>; with <paramref name="lastMayBeTorn"/> (the
    /// journal's newest segment, <paramref name="frames"/> being its bytes after the <see cref="Header"/>), a frame that
    /// does not match its checksum where the last append, cut by a power loss before it was on the disk, can be
    /// (<see cref="IsTornTail"/>) ends the segment, its rows and those of the frames after it left out, and
    /// <paramref name="tornAt"/> says where it starts (-1 when there is none).
    /// </summary>
    public static bool ReadFrames(ReadOnlySpan<byte> frames, List<LedgerEntry> rows, bool lastMayBeTorn, out int tornAt)
    {
        tornAt = -1;
        var all = frames;
        while (!frames.IsEmpty)
        {
            if (frames.Length < FrameHeaderLength)
            {
                // Too short for a frame's header: zeros end a mapped segment that was nearly full; anything else is a cut header.
                return !frames.ContainsAnyExcept((byte)0);
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(frames);
            if (length == 0)
            {
                return true;
            }

            if (length < 0)
            {
                // No write ever leaves one: a length goes in whole (or, cut, leaves fewer than a frame header's bytes).
                throw new InvalidDataException($"a frame's length is negative ({length})");
            }

            if (length > frames.Length - FrameHeaderLength)
            {
                return false;
            }

            var payload = frames.Slice(FrameHeaderLength, length);
            if (Crc32C(payload) != BinaryPrimitives.ReadUInt32LittleEndian(frames[4..]))
            {
                if (lastMayBeTorn && IsTornTail(all, all.Length - frames.Length))
                {
                    tornAt = all.Length - frames.Length;
                    return true;
                }

                throw new InvalidDataException($"a frame of {length} bytes does not match its checksum");
            }

            ReadPayload(payload, rows);
            frames = frames[(FrameHeaderLength + length)..];
        }

        return true;
    }

    /// <summary>
    /// Whether the frame at <paramref name="at"/> of a segment's <paramref name="frames"/> (its bytes after the header), which
    /// does not match its checksum, starts what is left of the segment's last append, cut by a power loss (or an
    /// operating-system crash): its length goes into the mapping last, but the kernel writes a mapping's pages to the disk
    /// in any order, so the length can be there before some of the payload is. With <c>sqliteSync: full</c> that append's
    /// sync had not returned, so its rows were never acknowledged; every append before it was synced whole, and past it
    /// the segment holds only zeros (a reused segment's zeros are synced before its reuse). The append can be several
    /// frames (a batch past <see cref="FrameTargetBytes"/>): every frame of it but its last is at least that long, and a
    /// later one may match its checksum, be cut too, or have lost its length (zeros, its page not on the disk). A length
    /// across a page boundary can have reached the disk in part, shorter than the frame, so where the frame ends is not
    /// known: what follows is taken as the rest of that frame when no frame there matches its checksum (one that does is
    /// read as damage, and so salvaged, rather than left out). A length that can only be damage is not a cut: one that
    /// falls in a page is never longer than the frame (its missing bytes are zeros), so one made longer by damage, hiding
    /// the frames after it, shows as a frame whose rows end before its length and match its checksum there; and a frame
    /// shorter than <see cref="FrameTargetBytes"/> followed by more bytes is not the last append.
    /// </summary>
    private static bool IsTornTail(ReadOnlySpan<byte> frames, int at)
    {
        var end = frames.LastIndexOfAnyExcept((byte)0) + 1;
        for (var first = true; ; first = false)
        {
            if (LengthCrossesAPage(at))
            {
                for (var candidate = at + 1; candidate < end; candidate++)
                {
                    if (TryReadFrame(frames[candidate..], null, out _))
                    {
                        return false;
                    }
                }

                return true;
            }

            if (frames.Length - at < FrameHeaderLength)
            {
                // A frame header cut by the segment's end: the frame before it was this append's, closed at the target.
                return !first;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(frames[at..]);
            if (!first && length == 0)
            {
                // A later frame of the append whose length did not reach the disk (the frame before it was closed at the target).
                return true;
            }

            if (length <= 0 || length > frames.Length - at - FrameHeaderLength)
            {
                return false;
            }

            var next = at + FrameHeaderLength + length;
            if (next >= end)
            {
                // The append's last frame: whole, or cut (unless its length is one damage made longer).
                return Verifies(frames[at..], length) || !EndsBeforeItsLength(frames[at..], length);
            }

            if (FrameHeaderLength + length < FrameTargetBytes)
            {
                return false;
            }

            at = next;
        }
    }

    /// <summary>Whether the length of a frame at <paramref name="at"/> in a segment's frames lies across two pages of the file (see <see cref="PageBytes"/>).</summary>
    private static bool LengthCrossesAPage(int at) => (Header.Length + at) % PageBytes > PageBytes - sizeof(int);

    /// <summary>
    /// The unit in which the kernel writes a mapping back to the disk: 4 KiB, or a multiple of it, so a length across a
    /// multiple of 4 KiB may have reached the disk in part and one inside it did so whole.
    /// </summary>
    internal const int PageBytes = 4096;

    private static bool Verifies(ReadOnlySpan<byte> frame, int length) =>
        Crc32C(frame.Slice(FrameHeaderLength, length)) == BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);

    /// <summary>Whether the frame's rows end before its length and match its checksum there: a length made longer by damage.</summary>
    private static bool EndsBeforeItsLength(ReadOnlySpan<byte> frame, int length)
    {
        var payload = frame.Slice(FrameHeaderLength, length);
        int rowsEnd;
        try
        {
            rowsEnd = ReadRows(payload, []);
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or ArgumentException)
        {
            // Not rows: what a cut frame holds where its payload did not reach the disk.
            return false;
        }

        return Crc32C(payload[..rowsEnd]) == BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
    }

    /// <summary>
    /// Reads every frame of a damaged segment's <paramref name="frames"/> (its bytes after the header) that matches its
    /// checksum into <paramref name="rows"/>, and returns the byte ranges (within <paramref name="frames"/>, trailing zeros
    /// left out) that are not such frames. A bad frame whose length is whole (the next frame, or only zeros, follows it) is
    /// skipped as a whole, so nothing inside its rows (a request's body is any bytes) is read as a frame; one whose rows end
    /// before its length and match its checksum there (a length made longer) is read up to there, only its length counted
    /// as damaged. Past any other damaged length nothing more is read: where the next frame starts is not known, and the
    /// bytes are not searched for one, since a frame found that way could be one a client wrote into its request body (and
    /// a search could check a checksum at every byte). The rest of the segment is one damaged range, left in the file set
    /// aside. A zero length outside a damaged range ends the frames, as it does in
    /// <see cref="ReadFrames(ReadOnlySpan{byte}, List{LedgerEntry})"/>.
    /// </summary>
    public static List<(int Start, int End)> Salvage(ReadOnlySpan<byte> frames, List<LedgerEntry> rows)
    {
        var damaged = new List<(int Start, int End)>();
        var damageStart = -1;
        var at = 0;
        while (at < frames.Length)
        {
            if (TryReadFrame(frames[at..], rows, out var frameBytes))
            {
                CloseDamage(frames, damaged, ref damageStart, at);
                at += frameBytes;
                continue;
            }

            if (damageStart < 0)
            {
                if (frames.Length - at < FrameHeaderLength ? !frames[at..].ContainsAnyExcept((byte)0) : BinaryPrimitives.ReadInt32LittleEndian(frames[at..]) == 0)
                {
                    break;
                }

                damageStart = at;
                var length = BinaryPrimitives.ReadInt32LittleEndian(frames[at..]);
                if (length > 0 && length <= frames.Length - at - FrameHeaderLength)
                {
                    if (EndsBeforeItsLength(frames[at..], length))
                    {
                        // A length made longer: the rows up to where they end match the checksum; the frame after them follows.
                        var rowsEnd = ReadRows(frames.Slice(at + FrameHeaderLength, length), rows);
                        damaged.Add((at, at + sizeof(int)));
                        damageStart = -1;
                        at += FrameHeaderLength + rowsEnd;
                        continue;
                    }

                    if (FrameOrZerosAt(frames, at + FrameHeaderLength + length))
                    {
                        at += FrameHeaderLength + length;
                        continue;
                    }
                }
            }

            break; // a damaged length: the rest is one damaged range (see above)
        }

        CloseDamage(frames, damaged, ref damageStart, frames.Length);
        return damaged;

        static bool FrameOrZerosAt(ReadOnlySpan<byte> frames, int at) =>
            !frames[at..].ContainsAnyExcept((byte)0) || TryReadFrame(frames[at..], null, out _);

        static void CloseDamage(ReadOnlySpan<byte> frames, List<(int Start, int End)> damaged, ref int damageStart, int end)
        {
            if (damageStart >= 0)
            {
                damaged.Add((damageStart, damageStart + frames[damageStart..end].LastIndexOfAnyExcept((byte)0) + 1));
                damageStart = -1;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="frames"/> starts with a whole frame that matches its checksum and holds rows and nothing
    /// else; if so, its rows go to <paramref name="rows"/> (when given) and <paramref name="frameBytes"/> is its length with its header.
    /// </summary>
    private static bool TryReadFrame(ReadOnlySpan<byte> frames, List<LedgerEntry>? rows, out int frameBytes)
    {
        frameBytes = 0;
        if (frames.Length < FrameHeaderLength + sizeof(int))
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(frames);
        if (length < sizeof(int) || length > frames.Length - FrameHeaderLength || !Verifies(frames, length))
        {
            return false;
        }

        var read = new List<LedgerEntry>();
        try
        {
            if (ReadRows(frames.Slice(FrameHeaderLength, length), read) != length)
            {
                return false;
            }
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or ArgumentException)
        {
            return false;
        }

        rows?.AddRange(read);
        frameBytes = FrameHeaderLength + length;
        return true;
    }

    private static void ReadPayload(ReadOnlySpan<byte> payload, List<LedgerEntry> rows)
    {
        if (ReadRows(payload, rows) != payload.Length)
        {
            throw new InvalidDataException("a frame holds more than its rows");
        }
    }

    /// <summary>Reads the row count and the rows a payload starts with; returns the bytes they took.</summary>
    private static int ReadRows(ReadOnlySpan<byte> payload, List<LedgerEntry> rows)
    {
        if (payload.Length < sizeof(int))
        {
            throw new InvalidDataException("a frame too short for its row count");
        }

        var countAndLayout = BinaryPrimitives.ReadInt32LittleEndian(payload);
        var layout = countAndLayout >>> LayoutShift;
        var count = countAndLayout & ((1 << LayoutShift) - 1);
        if (layout > RowLayout)
        {
            throw new InvalidDataException($"a frame's rows are in a layout ({layout}) this Corridor does not know");
        }

        var r = new Reader(payload[sizeof(int)..]);
        for (var i = 0; i < count; i++)
        {
            var entry = new LedgerEntry(
                RequestId: r.Text()!,
                Time: DateTimeOffset.FromUnixTimeMilliseconds(r.Signed()),
                TenantId: r.Text(),
                KeyId: r.Text(),
                Model: r.Text()!,
                Endpoint: r.Text()!,
                DeploymentId: r.Text(),
                Region: r.Text(),
                Status: (int)r.Signed(),
                Outcome: (RequestOutcome)r.Signed(),
                InputTokens: r.Signed(),
                OutputTokens: r.Signed(),
                Cost: r.Money(),
                Estimated: r.Unsigned() != 0,
                LatencyMs: (int)r.Signed(),
                Billable: r.Unsigned() != 0,
                ErrorCode: r.Text(),
                ClientIp: r.Text(),
                UserAgent: r.Text(),
                RequestBody: r.Utf8Text(),
                ResponseText: r.Text(),
                FinishReason: r.Text())
            {
                Vendor = r.Text(),
                DecisionId = r.Text(),
                Revenue = r.Money(),
                ShadowOf = r.Text(),
                CacheReadTokens = layout >= 1 ? r.Signed() : 0,
                CacheWriteTokens = layout >= 1 ? r.Signed() : 0,
                BatchId = layout >= 2 ? r.Text() : null,
            };
            rows.Add(entry);
        }

        return payload.Length - r.Remaining;
    }

    /// <summary>CRC-32C (Castagnoli), with the processor's instruction where there is one.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    /// <summary>A growable byte buffer, kept from one append to the next.</summary>
    internal sealed class Buffer
    {
        private byte[] _bytes = new byte[16 * 1024];

        public int Length { get; private set; }

        public Span<byte> Written => _bytes.AsSpan(0, Length);

        public void Clear() => Length = 0;

        public void Advance(int count)
        {
            Reserve(count);
            Length += count;
        }

        public void Unsigned(ulong value)
        {
            Reserve(10);
            while (value >= 0x80)
            {
                _bytes[Length++] = (byte)(value | 0x80);
                value >>= 7;
            }

            _bytes[Length++] = (byte)value;
        }

        public void Signed(long value) => Unsigned((ulong)((value << 1) ^ (value >> 63)));

        public void Text(string? value)
        {
            if (value is null)
            {
                Unsigned(0);
                return;
            }

            Reserve(10 + Encoding.UTF8.GetMaxByteCount(value.Length));
            var length = Encoding.UTF8.GetByteCount(value);
            Unsigned((ulong)length + 1);
            Length += Encoding.UTF8.GetBytes(value, _bytes.AsSpan(Length));
        }

        /// <summary>As <see cref="Text(string?)"/>, the same bytes in the frame, copied as they are.</summary>
        public void Text(Utf8Text? value)
        {
            if (value is null)
            {
                Unsigned(0);
                return;
            }

            Reserve(10 + value.Length);
            Unsigned((ulong)value.Length + 1);
            value.Span.CopyTo(_bytes.AsSpan(Length));
            Length += value.Length;
        }

        public void Money(decimal value)
        {
            Reserve(16);
            Span<int> parts = stackalloc int[4];
            decimal.GetBits(value, parts);
            foreach (var part in parts)
            {
                BinaryPrimitives.WriteInt32LittleEndian(_bytes.AsSpan(Length), part);
                Length += 4;
            }
        }

        private void Reserve(int count)
        {
            if (_bytes.Length - Length < count)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + count));
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _bytes = bytes;

        public readonly int Remaining => _bytes.Length;

        public ulong Unsigned()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Take(1)[0];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("an integer longer than 64 bits");
        }

        public long Signed()
        {
            var value = Unsigned();
            return (long)(value >> 1) ^ -(long)(value & 1);
        }

        public string? Text()
        {
            var length = Unsigned();
            return length == 0 ? null : Encoding.UTF8.GetString(Take(checked((int)(length - 1))));
        }

        /// <summary>A text written by either <c>Buffer.Text</c>, kept as UTF-8.</summary>
        public Utf8Text? Utf8Text()
        {
            var length = Unsigned();
            return length == 0 ? null : Core.Metering.Utf8Text.Copy(Take(checked((int)(length - 1))));
        }

        public decimal Money()
        {
            Span<int> parts = stackalloc int[4];
            var bytes = Take(16);
            for (var i = 0; i < 4; i++)
            {
                parts[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
            }

            return new decimal(parts);
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _bytes.Length)
            {
                throw new InvalidDataException("a row runs past the end of its frame");
            }

            var taken = _bytes[..count];
            _bytes = _bytes[count..];
            return taken;
        }
    }
}
