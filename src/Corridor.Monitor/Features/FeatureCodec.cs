using System.Buffers.Binary;
using System.Text;

namespace Corridor.Monitor.Features;

/// <summary>
/// <see cref="RequestFeatures"/> as bytes, so replicas can ship their observations to the replica that scores the fleet:
/// a version byte, the fixed-size fields little-endian, then the four strings (key, tenant, model, user agent) as UTF-8
/// with a 16-bit length each (cut at <see cref="MaxStringBytes"/>). About 330 bytes; no prompt text, only hashes and counts.
/// </summary>
public static class FeatureCodec
{
    public const byte Version = 1;
    public const int MaxStringBytes = 512;
    private const int FixedBytes = 1 + (8 * 3) + (4 * 7) + 4 + 2 + (4 * 4) + (8 * 4) + (MinHash.Size * 8) + (4 * 3) + (8 * 2) + (4 * 2);

    public static byte[] Encode(in RequestFeatures f)
    {
        var key = Cut(f.KeyId);
        var tenant = Cut(f.TenantId);
        var model = Cut(f.Model);
        var agent = Cut(f.UserAgent);
        var buffer = new byte[FixedBytes + 8 + key.Length + tenant.Length + model.Length + agent.Length];
        var w = new Writer(buffer);
        w.Byte(Version);
        w.Long(f.TimestampMs);
        w.ULong(f.SourceNetworkHash);
        w.ULong(f.UserAgentHash);
        w.Int(f.Status);
        w.Int(f.InputTokens);
        w.Int(f.OutputTokens);
        w.Int(f.ReasoningTokens);
        w.Int(f.MaxTokens);
        w.Int(f.N);
        w.Int(f.TopLogprobs);
        w.Int(BitConverter.SingleToInt32Bits(f.Temperature));
        w.UShort((ushort)f.Flags);
        w.Int(f.UserTurns);
        w.Int(f.AssistantTurns);
        w.Int(f.PromptBytes);
        w.Int(f.PromptWords);
        w.ULong(f.ContentHash);
        w.ULong(f.SkeletonHash);
        w.ULong(f.HeadHash);
        w.ULong(f.TailHash);
        var minHash = f.MinHash;
        for (var i = 0; i < MinHash.Size; i++)
        {
            w.ULong(minHash[i]);
        }

        w.Int(f.ReasoningMarkers);
        w.Int(f.VerbosityMarkers);
        w.Int(f.FormatMarkers);
        w.ULong(f.SystemHash);
        w.ULong(f.SystemSkeletonHash);
        w.Int(f.SystemReasoningMarkers);
        w.Int(f.SystemVerbosityMarkers);
        w.Text(key);
        w.Text(tenant);
        w.Text(model);
        w.Text(agent);
        return buffer;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote; false for anything else (another version, cut short, too long).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out RequestFeatures features)
    {
        features = default;
        if (bytes.Length < FixedBytes + 8 || bytes[0] != Version)
        {
            return false;
        }

        var r = new Reader(bytes);
        r.Byte();
        features.TimestampMs = r.Long();
        features.SourceNetworkHash = r.ULong();
        features.UserAgentHash = r.ULong();
        features.Status = r.Int();
        features.InputTokens = r.Int();
        features.OutputTokens = r.Int();
        features.ReasoningTokens = r.Int();
        features.MaxTokens = r.Int();
        features.N = r.Int();
        features.TopLogprobs = r.Int();
        features.Temperature = BitConverter.Int32BitsToSingle(r.Int());
        features.Flags = (RequestTraits)r.UShort();
        features.UserTurns = r.Int();
        features.AssistantTurns = r.Int();
        features.PromptBytes = r.Int();
        features.PromptWords = r.Int();
        features.ContentHash = r.ULong();
        features.SkeletonHash = r.ULong();
        features.HeadHash = r.ULong();
        features.TailHash = r.ULong();
        var minHash = default(MinHashSignature);
        for (var i = 0; i < MinHash.Size; i++)
        {
            minHash[i] = r.ULong();
        }

        features.MinHash = minHash;
        features.ReasoningMarkers = r.Int();
        features.VerbosityMarkers = r.Int();
        features.FormatMarkers = r.Int();
        features.SystemHash = r.ULong();
        features.SystemSkeletonHash = r.ULong();
        features.SystemReasoningMarkers = r.Int();
        features.SystemVerbosityMarkers = r.Int();
        if (!r.TryText(out var key) || !r.TryText(out var tenant) || !r.TryText(out var model) || !r.TryText(out var agent) || !r.AtEnd)
        {
            features = default;
            return false;
        }

        features.KeyId = key ?? string.Empty;
        features.TenantId = tenant ?? string.Empty;
        features.Model = model;
        features.UserAgent = agent;
        return true;
    }

    private static byte[] Cut(string? text)
    {
        if (text is null)
        {
            return [];
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Length <= MaxStringBytes ? bytes : bytes[..MaxStringBytes];
    }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _at;

        public void Byte(byte value) => _buffer[_at++] = value;

        public void UShort(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer[_at..], value);
            _at += 2;
        }

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer[_at..], value);
            _at += 4;
        }

        public void Long(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer[_at..], value);
            _at += 8;
        }

        public void ULong(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_at..], value);
            _at += 8;
        }

        // Null and empty are both length 0 (read back as null: an absent model or user agent).
        public void Text(byte[] utf8)
        {
            UShort((ushort)utf8.Length);
            utf8.CopyTo(_buffer[_at..]);
            _at += utf8.Length;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;
        private int _at;

        public readonly bool AtEnd => _at == _buffer.Length;

        public byte Byte() => _buffer[_at++];

        public ushort UShort()
        {
            var value = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[_at..]);
            _at += 2;
            return value;
        }

        public int Int()
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(_buffer[_at..]);
            _at += 4;
            return value;
        }

        public long Long()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(_buffer[_at..]);
            _at += 8;
            return value;
        }

        public ulong ULong() => (ulong)Long();

        public bool TryText(out string? text)
        {
            text = null;
            if (_buffer.Length - _at < 2)
            {
                return false;
            }

            var length = UShort();
            if (length > MaxStringBytes || _buffer.Length - _at < length)
            {
                return false;
            }

            text = length == 0 ? null : Encoding.UTF8.GetString(_buffer.Slice(_at, length));
            _at += length;
            return true;
        }
    }
}
