using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Corridor.Core.Audit;

namespace Corridor.Core.Tests.Audit;

/// <summary>The chain's hash against the encoding docs/audit.md states, worked out here independently, short and long.</summary>
public sealed class AuditChainTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 1, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(10)]
    [InlineData(5_000)]
    public void ComputeHash_IsTheSha256OfTheCanonicalEncoding(int detailsLength)
    {
        var details = "{\"note\":\"" + string.Concat(Enumerable.Repeat("東京 ok ", detailsLength / 6 + 1))[..detailsLength] + "\"}";
        var previous = AuditChain.ComputeHash(1, T0, "gateway", "policy.decision", "dec_1", "{}", AuditChain.GenesisHash);

        var hash = AuditChain.ComputeHash(2, T0.AddMilliseconds(7), "gateway", "policy.decision", "dec_2", details, previous);

        Assert.Equal(Reference(2, T0.AddMilliseconds(7), ["gateway", "policy.decision", "dec_2", details], previous), hash);
    }

    private static string Reference(long sequence, DateTimeOffset time, string[] texts, string previousHash)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes("corridor.audit.v1\n"));
        var number = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, sequence);
        bytes.AddRange(number);
        BinaryPrimitives.WriteInt64BigEndian(number, time.ToUnixTimeMilliseconds());
        bytes.AddRange(number);
        foreach (var text in texts)
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, utf8.Length);
            bytes.AddRange(length);
            bytes.AddRange(utf8);
        }
        bytes.AddRange(Encoding.ASCII.GetBytes(previousHash));
        return Convert.ToHexStringLower(SHA256.HashData([.. bytes]));
    }
}
