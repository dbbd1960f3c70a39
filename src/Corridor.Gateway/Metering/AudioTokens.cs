using System.Buffers.Binary;

namespace Corridor.Gateway.Metering;

/// <summary>
/// The tokens of a prompt's audio, which vendors bill by its duration, not its bytes: OpenAI counts a user's audio at a token
/// per 100 ms (<see cref="PerSecond"/>). The duration is the audio's bytes over its byte rate: a WAV file's sound data over the
/// byte rate its header gives; an MP3's bytes (after an ID3v2 tag) over the bitrate of its first frame, which stands for
/// every frame (a variable-bitrate file is estimated at its first frame's rate); anything else at 128 kbit/s, a usual rate
/// for compressed audio. Rounded up to a whole token.
/// </summary>
internal static class AudioTokens
{
    public const int PerSecond = 10;

    private const int UsualBytesPerSecond = 128_000 / 8;

    /// <summary>MPEG-1 Layer III bitrates (kbit/s) by a frame header's index (0: free format, 15: not allowed).</summary>
    private static ReadOnlySpan<short> Mpeg1Kbps => [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0];

    /// <summary>MPEG-2 and MPEG-2.5 Layer III bitrates (kbit/s) by a frame header's index.</summary>
    private static ReadOnlySpan<short> Mpeg2Kbps => [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0];

    /// <summary>
    /// The tokens of <paramref name="audio"/>, decoded (empty when its base64 could not be), of <paramref name="size"/> bytes.
    /// </summary>
    public static long Of(ReadOnlySpan<byte> audio, long size)
    {
        var (bytes, bytesPerSecond) = Wav(audio) ?? Mp3(audio) ?? (size, UsualBytesPerSecond);
        return bytes <= 0 ? 0 : (bytes * PerSecond + bytesPerSecond - 1) / bytesPerSecond;
    }

    /// <summary>A RIFF WAVE file's sound data (its <c>data</c> chunk, as far as the file holds it) and byte rate (its <c>fmt </c> chunk's); null when it is not one.</summary>
    private static (long Bytes, long BytesPerSecond)? Wav(ReadOnlySpan<byte> wav)
    {
        if (wav.Length < 12 || !wav.StartsWith("RIFF"u8) || !wav[8..12].SequenceEqual("WAVE"u8))
        {
            return null;
        }
        long byteRate = 0;
        var at = 12;
        while (at + 8 <= wav.Length)
        {
            var id = wav.Slice(at, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(wav[(at + 4)..]);
            var body = at + 8;
            if (id.SequenceEqual("fmt "u8) && body + 12 <= wav.Length)
            {
                byteRate = BinaryPrimitives.ReadUInt32LittleEndian(wav[(body + 8)..]);
            }
            else if (id.SequenceEqual("data"u8))
            {
                return byteRate > 0 ? (Math.Min(size, wav.Length - body), byteRate) : null;
            }
            // Chunks are padded to an even length.
            var next = (long)body + size + (size & 1);
            if (next > wav.Length)
            {
                break;
            }
            at = (int)next;
        }
        return null;
    }

    /// <summary>An MP3's bytes after its ID3v2 tag, and the byte rate of the Layer III frame that begins them; null when none does.</summary>
    private static (long Bytes, long BytesPerSecond)? Mp3(ReadOnlySpan<byte> mp3)
    {
        var at = 0;
        if (mp3.Length >= 10 && mp3.StartsWith("ID3"u8))
        {
            // Its size in four bytes of seven bits (syncsafe), after a 10-byte header; a footer of 10 more when flagged.
            at = 10 + ((mp3[6] & 0x7F) << 21 | (mp3[7] & 0x7F) << 14 | (mp3[8] & 0x7F) << 7 | (mp3[9] & 0x7F)) + ((mp3[5] & 0x10) != 0 ? 10 : 0);
        }
        if (at + 4 > mp3.Length || mp3[at] != 0xFF || (mp3[at + 1] & 0xE0) != 0xE0)
        {
            return null;
        }
        // Version (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved), layer (1: Layer III), bitrate index.
        var version = (mp3[at + 1] >> 3) & 3;
        var layer = (mp3[at + 1] >> 1) & 3;
        var kbps = version == 1 || layer != 1 ? 0 : (version == 3 ? Mpeg1Kbps : Mpeg2Kbps)[mp3[at + 2] >> 4];
        return kbps == 0 ? null : (mp3.Length - at, kbps * 1000 / 8);
    }
}
