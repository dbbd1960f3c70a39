using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Corridor.Core.Audit;

/// <summary>
/// The hash chain. A record's hash is the lowercase hex SHA-256 of its canonical encoding:
/// <list type="number">
/// <item>the 18 ASCII bytes <c>corridor.audit.v1\n</c>;</item>
/// <item>the sequence and the time (Unix milliseconds, UTC), each a big-endian signed 64-bit integer;</item>
/// <item>actor, action, subject and details, each as its UTF-8 byte count (big-endian signed 32-bit) followed by those bytes;</item>
/// <item>the previous record's hash as its 64 lowercase hex ASCII characters (<see cref="GenesisHash"/> for the first record).</item>
/// </list>
/// Length prefixes keep the encoding unambiguous: no two different records encode to the same bytes.
/// </summary>
public static class AuditChain
{
    /// <summary>What the first record names as its previous hash.</summary>
    public static readonly string GenesisHash = new('0', HashLength);

    public const int HashLength = 64;

    private static ReadOnlySpan<byte> Magic => "corridor.audit.v1\n"u8;

    /// <summary>Gives <paramref name="entry"/> its place after a record with <paramref name="previousHash"/> (time kept to the millisecond).</summary>
    public static AuditRecord Seal(AuditEntry entry, long sequence, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequence, 1);
        ArgumentNullException.ThrowIfNull(previousHash);
        var time = DateTimeOffset.FromUnixTimeMilliseconds(entry.Time.ToUnixTimeMilliseconds());
        var hash = ComputeHash(sequence, time, entry.Actor, entry.Action, entry.Subject, entry.Details, previousHash);
        return new AuditRecord(sequence, time, entry.Actor, entry.Action, entry.Subject, entry.Details, previousHash, hash);
    }

    /// <summary>Seals <paramref name="entries"/> in order after the record (<paramref name="lastSequence"/>, <paramref name="lastHash"/>); 0 and <see cref="GenesisHash"/> start the log.</summary>
    public static IReadOnlyList<AuditRecord> SealAll(IReadOnlyList<AuditEntry> entries, long lastSequence, string lastHash)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var records = new AuditRecord[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            records[i] = Seal(entries[i], lastSequence + 1, lastHash);
            lastSequence = records[i].Sequence;
            lastHash = records[i].Hash;
        }

        return records;
    }

    /// <summary>The hash <paramref name="record"/> should carry, from its fields and its previous hash.</summary>
    public static string ComputeHash(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return ComputeHash(record.Sequence, record.Time, record.Actor, record.Action, record.Subject, record.Details, record.PreviousHash);
    }

    public static string ComputeHash(long sequence, DateTimeOffset time, string actor, string action, string subject, string details, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(details);
        ArgumentNullException.ThrowIfNull(previousHash);
        // The whole encoding in one buffer and one call: an incremental hash made a native context and a dozen calls into
        // the crypto library a record, and the audit writer seals one a request when a policy decides them.
        var length = Magic.Length + 2 * sizeof(long) + 4 * sizeof(int) + Encoding.UTF8.GetByteCount(actor) + Encoding.UTF8.GetByteCount(action)
            + Encoding.UTF8.GetByteCount(subject) + Encoding.UTF8.GetByteCount(details) + previousHash.Length;
        byte[]? rented = null;
        var encoding = length <= 2048 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            Magic.CopyTo(encoding);
            var at = Magic.Length;
            BinaryPrimitives.WriteInt64BigEndian(encoding[at..], sequence);
            BinaryPrimitives.WriteInt64BigEndian(encoding[(at + sizeof(long))..], time.ToUnixTimeMilliseconds());
            at += 2 * sizeof(long);
            at = WriteText(encoding, at, actor);
            at = WriteText(encoding, at, action);
            at = WriteText(encoding, at, subject);
            at = WriteText(encoding, at, details);
            at += Encoding.ASCII.GetBytes(previousHash, encoding[at..]);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(encoding[..at], digest);
            return Convert.ToHexStringLower(digest);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The text's UTF-8 byte count (big-endian signed 32-bit) and its bytes, at <paramref name="at"/>; returns where they end.</summary>
    private static int WriteText(Span<byte> encoding, int at, string text)
    {
        var written = Encoding.UTF8.GetBytes(text, encoding[(at + sizeof(int))..]);
        BinaryPrimitives.WriteInt32BigEndian(encoding[at..], written);
        return at + sizeof(int) + written;
    }
}
