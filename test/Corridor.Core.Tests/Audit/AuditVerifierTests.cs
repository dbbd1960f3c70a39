using Corridor.Core.Audit;

namespace Corridor.Core.Tests.Audit;

public sealed class AuditVerifierTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    private static List<AuditRecord> Chain(int count)
    {
        var entries = Enumerable.Range(1, count)
            .Select(i => new AuditEntry(T0.AddSeconds(i), "cli:root", AuditActions.TenantUpdate, $"tenant-{i}", $$"""{"n":{{i}}}"""))
            .ToList();
        return [.. AuditChain.SealAll(entries, 0, AuditChain.GenesisHash)];
    }

    [Fact]
    public void AnIntactChain_Verifies_AndReportsItsHead()
    {
        var chain = Chain(5);

        var result = AuditVerifier.Verify(chain);

        Assert.True(result.IsValid);
        Assert.Equal(5, result.Checked);
        Assert.Equal(chain[^1], result.Last);
        Assert.Equal(AuditChain.GenesisHash, chain[0].PreviousHash);
        Assert.All(chain.Skip(1).Zip(chain), pair => Assert.Equal(pair.Second.Hash, pair.First.PreviousHash));
    }

    [Fact]
    public void AnEmptyLog_IsValid()
    {
        var result = AuditVerifier.Verify([]);

        Assert.True(result.IsValid);
        Assert.Equal(0, result.Checked);
        Assert.Null(result.Last);
    }

    [Fact]
    public void Hash_DependsOnEveryField()
    {
        var record = Chain(1)[0];
        AuditRecord[] variants =
        [
            record with { Sequence = 2 },
            record with { Time = record.Time.AddMilliseconds(1) },
            record with { Actor = "admin-api" },
            record with { Action = AuditActions.TenantCreate },
            record with { Subject = "tenant-2" },
            record with { Details = """{"n":2}""" },
            record with { PreviousHash = new string('1', 64) },
        ];

        Assert.All(variants, v => Assert.NotEqual(record.Hash, AuditChain.ComputeHash(v)));
    }

    [Fact]
    public void LengthPrefixes_KeepFieldBoundariesApart()
    {
        var a = AuditChain.ComputeHash(1, T0, "ab", "c", "s", "{}", AuditChain.GenesisHash);
        var b = AuditChain.ComputeHash(1, T0, "a", "bc", "s", "{}", AuditChain.GenesisHash);

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Seal_KeepsTimeToTheMillisecond_SoAStoredRecordStillVerifies()
    {
        var record = AuditChain.Seal(new AuditEntry(T0.AddTicks(12_345), "gateway", AuditActions.Decision, "req-1", "{}"), 1, AuditChain.GenesisHash);

        Assert.Equal(T0.AddMilliseconds(1), record.Time);
        Assert.True(AuditVerifier.Verify([record]).IsValid);
    }

    [Fact]
    public void AnEditedRecord_IsNamed()
    {
        var chain = Chain(5);
        chain[2] = chain[2] with { Details = """{"n":999}""" };

        var result = AuditVerifier.Verify(chain);

        Assert.False(result.IsValid);
        Assert.Equal(3, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Edited, result.Problem.Fault);
        Assert.Contains("record 3", result.Problem.Message, StringComparison.Ordinal);
        Assert.Equal(2, result.Checked);
    }

    [Fact]
    public void AnEditedRecordWithARecomputedHash_BreaksTheLinkOfTheNextOne()
    {
        var chain = Chain(5);
        var forged = chain[2] with { Actor = "someone-else" };
        chain[2] = forged with { Hash = AuditChain.ComputeHash(forged) };

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(4, result.Problem!.Sequence);
        Assert.Equal(AuditFault.BrokenLink, result.Problem.Fault);
        Assert.Contains("does not link to record 3", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARemovedRecord_IsNamed()
    {
        var chain = Chain(5);
        chain.RemoveAt(1);

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(2, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Missing, result.Problem.Fault);
        Assert.Contains("record 2 is missing", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFirstRecordRemoved_IsNamed()
    {
        var chain = Chain(3);
        chain.RemoveAt(0);

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(1, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Missing, result.Problem.Fault);
    }

    [Fact]
    public void RemovedAndRenumbered_BreaksTheChainWhereTheRecordWas()
    {
        var chain = Chain(5);
        chain.RemoveAt(1);
        for (var i = 1; i < chain.Count; i++)
        {
            chain[i] = chain[i] with { Sequence = i + 1 };
        }

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(2, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Edited, result.Problem.Fault);
    }

    [Fact]
    public void ReorderedRecords_AreNamed()
    {
        var chain = Chain(5);
        (chain[1], chain[2]) = (chain[2], chain[1]);

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(2, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Missing, result.Problem.Fault);
        Assert.Contains("next record found is 3", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SwappedSequenceNumbers_AreNamed()
    {
        var chain = Chain(5);
        (chain[1], chain[2]) = (chain[2] with { Sequence = 2 }, chain[1] with { Sequence = 3 });

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(2, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Edited, result.Problem.Fault);
    }

    [Fact]
    public void AnInsertedRecord_IsNamed()
    {
        var chain = Chain(5);
        var inserted = AuditChain.Seal(new AuditEntry(T0, "intruder", AuditActions.KeyIssue, "key_x", "{}"), 3, chain[1].Hash);
        chain.Insert(2, inserted);

        var result = AuditVerifier.Verify(chain);

        // The inserted record is well formed and links to record 2, so the break shows at the original record 3 that follows it.
        Assert.Equal(3, result.Problem!.Sequence);
        Assert.Equal(AuditFault.OutOfOrder, result.Problem.Fault);
        Assert.Contains("record 3 comes after record 3", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInsertedRecordWithAForgedHash_IsNamedItself()
    {
        var chain = Chain(5);
        chain.Insert(2, new AuditRecord(3, T0, "intruder", AuditActions.KeyIssue, "key_x", "{}", chain[1].Hash, new string('a', 64)));

        var result = AuditVerifier.Verify(chain);

        Assert.Equal(3, result.Problem!.Sequence);
        Assert.Equal(AuditFault.Edited, result.Problem.Fault);
        Assert.Contains("key.issue key_x", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARewrittenChain_IsCaughtByAnAnchor()
    {
        var chain = Chain(5);
        var anchor = new AuditAnchor(4, chain[3].Hash);
        var entries = chain.Select(r => r.Entry).ToList();
        entries[1] = entries[1] with { Details = """{"n":"rewritten"}""" };
        var rewritten = AuditChain.SealAll(entries, 0, AuditChain.GenesisHash);

        Assert.True(AuditVerifier.Verify(rewritten).IsValid);
        var result = AuditVerifier.Verify(rewritten, [anchor]);

        Assert.Equal(4, result.Problem!.Sequence);
        Assert.Equal(AuditFault.AnchorMismatch, result.Problem.Fault);
    }

    [Fact]
    public void ATruncatedChain_IsCaughtByAnAnchor()
    {
        var chain = Chain(5);

        var result = AuditVerifier.Verify(chain.Take(3), [new AuditAnchor(5, chain[4].Hash)]);

        Assert.Equal(5, result.Problem!.Sequence);
        Assert.Equal(AuditFault.AnchorMismatch, result.Problem.Fault);
        Assert.Contains("the log ends at 3", result.Problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789", true)]
    [InlineData("0:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", false)]
    [InlineData("4:abc", false)]
    [InlineData("abc", false)]
    [InlineData("", false)]
    public void Anchor_Parses_SequenceColonHash(string text, bool valid)
    {
        Assert.Equal(valid, AuditAnchor.TryParse(text, out var anchor));
        if (valid)
        {
            Assert.Equal(4, anchor!.Sequence);
            Assert.Equal(text[2..].ToLowerInvariant(), anchor.Hash);
        }
    }

    [Fact]
    public void TheCanonicalEncoding_IsStable()
    {
        // A fixed vector: an independent implementation (docs/audit.md) must produce the same hash.
        var hash = AuditChain.ComputeHash(1, T0, "cli:root", "tenant.create", "acme", """{"legal_name":"Acme"}""", AuditChain.GenesisHash);

        Assert.Equal(AuditChainVector.Expected, hash);
    }
}

internal static class AuditChainVector
{
    public const string Expected = "03301924a1a1a7f967d408b5a3fec0b362790c840b38b1e4e54e71852969ddff";
}
