using System.Buffers.Binary;

namespace Corridor.Testing;

/// <summary>Small audio files made in the test: a WAV of silence with a correct header, and an MP3 that is its first frame's header and padding.</summary>
public static class TestAudio
{
    /// <summary>A PCM WAV of <paramref name="seconds"/> of silence: <paramref name="sampleRate"/> 16-bit mono samples a second, a LIST chunk before its data.</summary>
    public static byte[] Wav(double seconds, int sampleRate = 8000)
    {
        var byteRate = sampleRate * 2;
        var data = (int)(seconds * byteRate);
        var list = "LIST\u0004\0\0\0INFO"u8;
        var wav = new byte[12 + 24 + list.Length + 8 + data];
        "RIFF"u8.CopyTo(wav);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(4), wav.Length - 8);
        "WAVEfmt "u8.CopyTo(wav.AsSpan(8));
        var fmt = wav.AsSpan(16);
        BinaryPrimitives.WriteInt32LittleEndian(fmt, 16);
        BinaryPrimitives.WriteInt16LittleEndian(fmt[4..], 1); // PCM
        BinaryPrimitives.WriteInt16LittleEndian(fmt[6..], 1); // mono
        BinaryPrimitives.WriteInt32LittleEndian(fmt[8..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(fmt[12..], byteRate);
        BinaryPrimitives.WriteInt16LittleEndian(fmt[16..], 2); // block align
        BinaryPrimitives.WriteInt16LittleEndian(fmt[18..], 16); // bits a sample
        list.CopyTo(wav.AsSpan(36));
        "data"u8.CopyTo(wav.AsSpan(36 + list.Length));
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(40 + list.Length), data);
        return wav;
    }

    /// <summary>
    /// An MPEG-1 Layer III stream of <paramref name="seconds"/> at 64 kbit/s (its first frame's header, then padding), after an
    /// ID3v2 tag of <paramref name="tagBytes"/> bytes when that is not 0.
    /// </summary>
    public static byte[] Mp3At64Kbps(double seconds, int tagBytes = 0)
    {
        var audio = (int)(seconds * 64_000 / 8);
        var header = tagBytes == 0 ? 0 : 10 + tagBytes;
        var mp3 = new byte[header + audio];
        if (tagBytes > 0)
        {
            "ID3\u0004\0\0"u8.CopyTo(mp3);
            // The tag's size in four bytes of seven bits each (syncsafe).
            for (var i = 0; i < 4; i++)
            {
                mp3[9 - i] = (byte)((tagBytes >> (7 * i)) & 0x7F);
            }
        }
        // Frame sync, MPEG-1, Layer III, no CRC; bitrate index 5 (64 kbit/s), 44.1 kHz.
        new byte[] { 0xFF, 0xFB, 0x50, 0xC4 }.CopyTo(mp3, header);
        return mp3;
    }
}
