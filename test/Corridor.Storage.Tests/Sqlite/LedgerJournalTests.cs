using System.Buffers.Binary;
using Corridor.Core.Metering;
using Corridor.Storage.Sqlite;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Sqlite;

/// <summary>The embedded store's ledger journal: its file format, what a crash leaves, and who owns it.</summary>
public sealed class LedgerJournalTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    private readonly TempDirectory _folder = new();

    private string DbPath => _folder.File("data/corridor.db");

    private string JournalFolder => LedgerJournal.FolderFor(Path.GetFullPath(DbPath));

    public void Dispose() => _folder.Dispose();

    /// <summary>Every field, nulls, text beyond ASCII, money with its scale, negative and large integers.</summary>
    public static LedgerEntry FullEntry(string requestId) => new(
        RequestId: requestId,
        Time: LedgerSamples.Start.AddMilliseconds(123_456),
        TenantId: "acme",
        KeyId: "key_0000000000000001",
        Model: "claude-sonnet-4",
        Endpoint: "/v1/messages",
        DeploymentId: "claude-sonnet-4-jp",
        Region: "jp-east",
        Status: 499,
        Outcome: RequestOutcome.ClientDisconnected,
        InputTokens: 5_000_000_000,
        OutputTokens: 0,
        Cost: 0.000012300m,
        Estimated: true,
        LatencyMs: -1,
        Billable: true,
        ErrorCode: null,
        ClientIp: "2001:db8::1",
        UserAgent: "Anthropic/.NET 12.0",
        RequestBody: Utf8Text.From("{\"messages\":[{\"role\":\"user\",\"content\":\"東京の天気は？ 🌧\"}]}"),
        ResponseText: "",
        FinishReason: null)
    {
        Vendor = "anthropic",
        DecisionId = "dec_" + requestId,
        Revenue = -79228162514264337593543950335m,
        ShadowOf = null,
        CacheReadTokens = 4_000_000_000,
        CacheWriteTokens = 3,
    };

    [Fact]
    public void ARequestBody_IsFramedAsTheSameBytesAsItsTextWas()
    {
        // Bodies were framed from strings before they were kept as UTF-8: a journal written then reads the same now.
        const string body = "{\"content\":\"東京の天気は？ 🌧\"}";
        var fromString = new LedgerJournalFormat.Buffer();
        fromString.Text(body);
        var fromUtf8 = new LedgerJournalFormat.Buffer();
        fromUtf8.Text(Utf8Text.From(body));
        fromUtf8.Text((Utf8Text?)null);
        fromString.Text((string?)null);

        Assert.Equal(fromString.Written.ToArray(), fromUtf8.Written.ToArray());
    }

    [Fact]
    public void Frames_ReadBackEveryField()
    {
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [FullEntry("req-1"), LedgerSamples.Entry("req-2")]);
        LedgerJournalFormat.WriteFrames(buffer, [FullEntry("req-3")]);

        var rows = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(buffer.Written, rows));

        Assert.Equal([FullEntry("req-1"), LedgerSamples.Entry("req-2"), FullEntry("req-3")], rows);
        Assert.Equal("0.000012300", rows[0].Cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(0, 3)] // the first layout: no prompt cache tokens, no batch
    [InlineData(1, 1)] // prompt cache tokens, no batch
    public void AFrameInAnEarlierRowLayout_IsReadWithoutTheFieldsAddedSince(int layout, int fieldsAddedSince)
    {
        // A row of an earlier layout is a row of today's without the fields added since, which are one byte each when 0 or null.
        var entry = LedgerSamples.Entry("req-1");
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [entry]);
        var row = buffer.Written[(LedgerJournalFormat.FrameHeaderLength + sizeof(int))..^fieldsAddedSince].ToArray();
        var payload = new byte[sizeof(int) + row.Length];
        BinaryPrimitives.WriteInt32LittleEndian(payload, (layout << 24) | 1);
        row.CopyTo(payload, sizeof(int));
        var frame = new byte[LedgerJournalFormat.FrameHeaderLength + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), LedgerJournalFormat.Crc32C(payload));
        payload.CopyTo(frame, LedgerJournalFormat.FrameHeaderLength);

        var rows = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(frame, rows));

        Assert.Equal([entry], rows);
        Assert.Equal((0L, 0L, (string?)null), (rows[0].CacheReadTokens, rows[0].CacheWriteTokens, rows[0].BatchId));
    }

    [Fact]
    public void ARowOfABatchRequest_NamesItsBatch_AfterAReplay()
    {
        var entry = FullEntry("req-1") with { BatchId = "msgbatch_0123456789abcdef01234567" };
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [entry]);

        var rows = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(buffer.Written.ToArray(), rows));

        Assert.Equal([entry], rows);
    }

    [Fact]
    public void AFrameInALayoutThisCorridorDoesNotKnow_IsDamage()
    {
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [LedgerSamples.Entry("req-1")]);
        var frame = buffer.Written.ToArray();
        var payload = frame.AsSpan(LedgerJournalFormat.FrameHeaderLength);
        payload[3] = 3;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), LedgerJournalFormat.Crc32C(payload));

        Assert.Throws<InvalidDataException>(() => LedgerJournalFormat.ReadFrames(frame, []));
    }

    [Fact]
    public void ABatchLargerThanAFrame_IsWrittenAsSeveral_AndReadBackWhole()
    {
        var body = new string('b', LedgerJournalFormat.FrameTargetBytes / 3);
        var batch = Enumerable.Range(0, 8).Select(i => FullEntry($"req-{i}") with { RequestBody = Utf8Text.From(body) }).ToArray();
        var buffer = new LedgerJournalFormat.Buffer();

        LedgerJournalFormat.WriteFrames(buffer, batch);

        var frames = 0;
        for (var rest = buffer.Written; !rest.IsEmpty; frames++)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(rest);
            Assert.True(length < 2 * LedgerJournalFormat.FrameTargetBytes);
            rest = rest[(LedgerJournalFormat.FrameHeaderLength + length)..];
        }
        Assert.Equal(3, frames);
        var rows = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(buffer.Written, rows));
        Assert.Equal(batch, rows);
    }

    [Fact]
    public void AFrameCutShort_EndsTheSegment_WithTheFramesBeforeIt()
    {
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [FullEntry("req-1")]);
        var first = buffer.Length;
        LedgerJournalFormat.WriteFrames(buffer, [FullEntry("req-2"), FullEntry("req-3")]);

        // Every length a write cut by a crash could leave of the second frame.
        for (var cut = first + 1; cut < buffer.Length; cut++)
        {
            var rows = new List<LedgerEntry>();
            Assert.False(LedgerJournalFormat.ReadFrames(buffer.Written[..cut], rows), $"cut at {cut}");
            Assert.Equal(["req-1"], rows.Select(r => r.RequestId));
        }
    }

    [Fact]
    public void ACopyIntoASegmentStoppedAtAnyPoint_EndsTheSegment_WithTheBatchesBefore()
    {
        var before = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(before, [FullEntry("req-1")]);
        var batch = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(batch, [FullEntry("req-2"), FullEntry("req-3")]);

        // A mapped segment is zeros past what was appended, and an append copies its first length in last: whatever a
        // crash stopped of the copy, that length is still zero.
        for (var copied = 0; copied <= batch.Length - sizeof(int); copied++)
        {
            var segment = new byte[before.Length + batch.Length + 64];
            before.Written.CopyTo(segment);
            batch.Written.Slice(sizeof(int), copied).CopyTo(segment.AsSpan(before.Length + sizeof(int)));
            var rows = new List<LedgerEntry>();
            Assert.True(LedgerJournalFormat.ReadFrames(segment, rows), $"copied {copied}");
            Assert.Equal(["req-1"], rows.Select(r => r.RequestId));
        }
    }

    [Fact]
    public void AWholeFrameThatDoesNotMatchItsChecksum_IsAnError()
    {
        var buffer = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(buffer, [FullEntry("req-1")]);
        buffer.Written[^5] ^= 0x20;

        Assert.Throws<InvalidDataException>(() => LedgerJournalFormat.ReadFrames(buffer.Written, []));
    }

    [Fact]
    public async Task WhatACrashLeaves_IsInTheLedgerAfterTheNextOpen_OnceEach_AndTheSegmentsAreGone()
    {
        // The state a SIGKILL leaves: two segments, one row of which is already in the database (inserted before the
        // crash), and a last batch cut in the middle of its write (never acknowledged).
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout())
        {
            await store.AppendLedgerAsync([FullEntry("req-1")], None).WithTimeout();
        }

        WriteSegment(1, [[FullEntry("req-1"), FullEntry("req-2")]]);
        WriteSegment(2, [[FullEntry("req-3")], [FullEntry("req-4")]], cutLastFrameBy: 3);
        // The spare (emptied: a header and zeros), and a segment whose header a power loss kept from the disk (all zeros).
        File.WriteAllBytes(Path.Combine(JournalFolder, $"{3:D12}.journal"), [.. LedgerJournalFormat.Header, .. new byte[4096]]);
        File.WriteAllBytes(Path.Combine(JournalFolder, $"{4:D12}.journal"), new byte[4096]);

        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout())
        {
            var rows = await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
            Assert.Equal(["req-1", "req-2", "req-3"], rows.Select(r => r.RequestId).Order());
            Assert.Equal(FullEntry("req-2"), rows.Single(r => r.RequestId == "req-2"));
            Assert.Empty(Directory.GetFiles(JournalFolder, "*.journal"));
            // The daily totals count what the replay inserted, not req-1 again (usage_daily alone answers an unbounded range).
            Assert.Equal(3, Assert.Single(await store.GetUsageTotalsAsync(null, null, null, None).WithTimeout()).Requests);
        }
    }

    [Theory]
    [InlineData("a frame's byte")]
    [InlineData("the header zeroed, frames after it")]
    public async Task ADamagedSegment_IsSetAside_AfterEveryFrameThatVerifiesIsReplayed(string damage)
    {
        // With sqliteSync: normal a power loss can leave any page behind, not only the last append's.
        var path = WriteSegment(1, [[FullEntry("req-1")], [FullEntry("req-2")], [FullEntry("req-3")]], mapped: true);
        var bytes = File.ReadAllBytes(path);
        var frames = FrameStarts(bytes);
        if (damage == "a frame's byte")
        {
            bytes[frames[1] + LedgerJournalFormat.FrameHeaderLength + 3] ^= 0x01;
        }
        else
        {
            bytes.AsSpan(0, LedgerJournalFormat.Header.Length).Clear();
        }
        File.WriteAllBytes(path, bytes);

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        var expected = damage == "a frame's byte" ? new[] { "req-1", "req-3" } : ["req-1", "req-2", "req-3"];
        Assert.Equal(expected, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
        AssertSetAside(store, path, damage == "a frame's byte" ? $"Bytes {frames[1]}–" : "Bytes 0–8");
    }

    [Theory]
    [InlineData("made negative")]
    [InlineData("made longer than the segment")]
    public async Task AMiddleFrameWhoseLengthIsDamaged_IsSetAside_WithTheRowsBeforeItReplayed(string damage)
    {
        // A mapped segment, as an owner leaves it: three appends, then zeros to its end.
        var path = WriteSegment(1, [[FullEntry("req-1")], [FullEntry("req-2")], [FullEntry("req-3")]], mapped: true);
        var bytes = File.ReadAllBytes(path);
        var second = FrameStarts(bytes)[1];
        // One bit of the length's highest byte.
        bytes[second + 3] ^= damage == "made negative" ? (byte)0x80 : (byte)0x40;
        File.WriteAllBytes(path, bytes);

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        // Where the frame after it starts is not known, and the bytes are not searched for it (they hold clients' bodies):
        // req-3 stays in the file set aside.
        Assert.Equal(["req-1"], (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
        AssertSetAside(store, path, $"Bytes {second}–");
    }

    [Theory]
    [InlineData("a page of its rows missing")]
    [InlineData("its last bytes missing")]
    [InlineData("its checksum missing")]
    public async Task ALastFrameAPowerLossCut_InTheNewestSegment_IsLeftOutWithAWarning_AndTheRestReplayed(string cut)
    {
        // With sqliteSync: full an append is acknowledged once its sync returns; a power loss during that sync can leave its
        // length on the disk without all of its payload (the kernel writes a mapping's pages back in any order).
        WriteSegment(1, [[FullEntry("req-1")], [FullEntry("req-2")]], mapped: true);
        var path = WriteSegment(2, [[FullEntry("req-3")], [LargeEntry("req-4")]], mapped: true);
        var bytes = File.ReadAllBytes(path);
        var last = LastFrameStart(bytes);
        var end = last + LedgerJournalFormat.FrameHeaderLength + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(last));
        switch (cut)
        {
            case "a page of its rows missing":
                var page = (last / 4096 + 1) * 4096;
                Assert.True(page + 4096 < end);
                bytes.AsSpan(page, 4096).Clear();
                break;
            case "its last bytes missing":
                bytes.AsSpan(end - 17, 17).Clear();
                break;
            default:
                bytes.AsSpan(last + 4, 4).Clear();
                break;
        }
        var (replayed, ingested, warnings) = await OpenTornAsync(path, bytes);

        Assert.Equal(3, replayed);
        Assert.Equal(["req-1", "req-2", "req-3"], ingested);
        var warning = Assert.Single(warnings);
        Assert.Contains(path, warning, StringComparison.Ordinal);
        Assert.Contains($"at byte {last}", warning, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(JournalFolder, "*.journal"));
    }

    [Theory]
    [InlineData("a page of its second frame missing")]
    [InlineData("a page of its last frame missing")]
    [InlineData("a page of its first frame and the second frame's length missing")]
    public async Task ALastAppendOfSeveralFramesAPowerLossCut_IsLeftOutWithAWarning_WhereverTheCutFalls(string cut)
    {
        // A batch past a frame's target is written as several frames in one append; the kernel may have written any of
        // its pages, so the frame that does not match its checksum can have frames of the same append after it.
        var body = new string('b', LedgerJournalFormat.FrameTargetBytes / 3);
        var batch = Enumerable.Range(0, 8).Select(i => LedgerSamples.Entry($"big-{i}") with { RequestBody = Utf8Text.From(body) }).ToArray();
        var path = WriteSegment(1, [[FullEntry("req-1")], batch], mapped: true);
        var bytes = File.ReadAllBytes(path);
        var frames = FrameStarts(bytes);
        Assert.Equal(4, frames.Count);
        int tornFrame;
        switch (cut)
        {
            case "a page of its second frame missing":
                tornFrame = 2;
                bytes.AsSpan((frames[2] / 4096 + 2) * 4096, 4096).Clear();
                break;
            case "a page of its last frame missing":
                tornFrame = 3;
                bytes.AsSpan((frames[3] / 4096 + 2) * 4096, 4096).Clear();
                break;
            default:
                tornFrame = 1;
                bytes.AsSpan((frames[1] / 4096 + 2) * 4096, 4096).Clear();
                bytes.AsSpan(frames[2], sizeof(int)).Clear();
                break;
        }
        var (_, ingested, warnings) = await OpenTornAsync(path, bytes);

        // The frames before the cut one are read (the first append, and the batch's frames before the cut).
        var before = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(bytes.AsSpan(LedgerJournalFormat.Header.Length, frames[tornFrame] - LedgerJournalFormat.Header.Length), before));
        Assert.Equal(before.Select(r => r.RequestId), ingested);
        Assert.Equal("req-1", ingested[0]);
        var warning = Assert.Single(warnings);
        Assert.Contains($"at byte {frames[tornFrame]}", warning, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(JournalFolder, "*.journal"));
    }

    [Theory]
    [InlineData("the page after the boundary missing")]
    [InlineData("the page before the boundary missing")]
    public async Task ALastFrameWhoseLengthAPowerLossCutAcrossAPageBoundary_IsLeftOutWithAWarning(string cut)
    {
        // The first frame ends 2 bytes before a page does, so the last frame's length lies across the boundary; the last
        // frame is long enough (past 64 KiB) that both halves of its length are not zeros.
        const int boundary = 4096;
        var first = FrameOfLength(boundary - 2 - LedgerJournalFormat.Header.Length, "req-1");
        var last = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(last, [LedgerSamples.Entry("req-2") with { RequestBody = Utf8Text.From(new string('y', 100 * 1024)) }]);
        Assert.True(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(last.Written) > 0x10000);
        Directory.CreateDirectory(JournalFolder);
        byte[] bytes = [.. LedgerJournalFormat.Header, .. first.Written, .. last.Written];
        Array.Resize(ref bytes, LedgerJournal.SegmentBytes);
        if (cut == "the page after the boundary missing")
        {
            bytes.AsSpan(boundary, 4096).Clear();
        }
        else
        {
            // The page as the earlier append's sync left it: the first frame, then zeros where the length's first half goes.
            bytes.AsSpan(boundary - 2, 2).Clear();
        }
        var path = Path.Combine(JournalFolder, $"{1:D12}.journal");

        var (replayed, ingested, warnings) = await OpenTornAsync(path, bytes);

        Assert.Equal(1, replayed);
        Assert.Equal(["req-1"], ingested);
        var warning = Assert.Single(warnings);
        Assert.Contains(path, warning, StringComparison.Ordinal);
        Assert.Contains($"at byte {boundary - 2}", warning, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(JournalFolder, "*.journal"));
    }

    [Fact]
    public async Task ALastFrameThatDoesNotMatchItsChecksum_InASegmentBeforeTheNewest_IsSetAside_NotLeftOutAsACut()
    {
        // Only the newest segment takes appends; one before it was synced whole, so a bad frame there is damage.
        var path = WriteSegment(1, [[FullEntry("req-1")], [LargeEntry("req-2")]], mapped: true);
        WriteSegment(2, [[FullEntry("req-3")]], mapped: true);
        var bytes = File.ReadAllBytes(path);
        bytes[LastFrameStart(bytes) + LedgerJournalFormat.FrameHeaderLength + 5] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        Assert.Equal(["req-1", "req-3"], (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
        AssertSetAside(store, path, $"Bytes {LastFrameStart(bytes)}–");
    }

    [Fact]
    public async Task AMiddleFrameWhoseLengthIsDamagedToReachTheZeros_IsSetAside_RatherThanPassingForACutLastFrame()
    {
        // The second frame's length made to cover the third and end in the zeros after it: it no longer matches its
        // checksum and only zeros follow it, as a cut last frame, but its rows end before its length, matching the checksum.
        var path = WriteSegment(1, [[FullEntry("req-1")], [FullEntry("req-2")], [FullEntry("req-3")]], mapped: true);
        var bytes = File.ReadAllBytes(path);
        var second = FrameStarts(bytes)[1];
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(second));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(second), length | 0x4000);
        File.WriteAllBytes(path, bytes);

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        // Its rows match the checksum up to where they end, so they are read too; only the length is damaged.
        Assert.Equal(["req-1", "req-2", "req-3"], (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
        AssertSetAside(store, path, $"Bytes {second}–{second + 4}");
    }

    [Fact]
    public async Task AMappedSegmentFilledToWithinAFrameHeaderOfItsEnd_IsReplayedWhole()
    {
        var last = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(last, [FullEntry("req-1")]);
        // A first frame of one row whose body takes the space up to the last frame, which ends 3 bytes before the segment does.
        var space = LedgerJournal.SegmentBytes - LedgerJournalFormat.Header.Length - last.Length - 3;
        var first = new LedgerJournalFormat.Buffer();
        for (var body = space - 256; first.Length != space; body++)
        {
            Assert.True(first.Length < space);
            first.Clear();
            LedgerJournalFormat.WriteFrames(first, [LedgerSamples.Entry("req-0") with { RequestBody = Utf8Text.From(new string('x', body)) }]);
        }
        Directory.CreateDirectory(JournalFolder);
        byte[] bytes = [.. LedgerJournalFormat.Header, .. first.Written, .. last.Written, 0, 0, 0];
        Assert.Equal(LedgerJournal.SegmentBytes, bytes.Length);
        File.WriteAllBytes(Path.Combine(JournalFolder, $"{1:D12}.journal"), bytes);

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        Assert.Equal(["req-0", "req-1"], (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
    }

    [Fact]
    public async Task AStoreWithoutTheJournal_TakesIt_WhenItWritesRowsAfterTheOtherOwnerLetItGo()
    {
        var clock = new FakeClock();
        var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames);
        await owner.MigrateAsync(None).WithTimeout();
        await using var gateway = new SqliteStore(DbPath, clock, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames);
        await gateway.MigrateAsync(None).WithTimeout();
        Assert.False(gateway.Journaled);
        Assert.Contains("tried again every 5 seconds", gateway.LedgerNotice, StringComparison.Ordinal);

        // While the owner holds it, and until the retry is due after it let go, rows go straight into SQLite.
        await gateway.AppendLedgerAsync([FullEntry("req-1")], None).WithTimeout();
        clock.Advance(SqliteStore.JournalRetryInterval);
        await gateway.AppendLedgerAsync([FullEntry("req-2")], None).WithTimeout();
        await owner.DisposeAsync();
        await gateway.AppendLedgerAsync([FullEntry("req-3")], None).WithTimeout();
        Assert.False(gateway.Journaled);
        Assert.False(gateway.TryAppendLedger(FullEntry("req-4")));

        clock.Advance(SqliteStore.JournalRetryInterval);
        await gateway.AppendLedgerAsync([FullEntry("req-5")], None).WithTimeout();

        Assert.True(gateway.Journaled);
        Assert.Null(gateway.LedgerNotice);
        Assert.True(gateway.TryAppendLedger(FullEntry("req-6")));
        Assert.Equal(["req-1", "req-2", "req-3", "req-5", "req-6"],
            (await gateway.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RowsWaitingForTheirPass_AreSeenByTheStoresOwnReaders_NotYetByAnotherProcesss()
    {
        await using var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never);
        await owner.MigrateAsync(None).WithTimeout();
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        Assert.True(owner.Journaled);
        Assert.False(((SqliteStore)other).Journaled);

        await owner.AppendLedgerAsync([FullEntry("req-1"), FullEntry("req-2")], None).WithTimeout();

        // In the journal only: another store (as the command line would be) reads the database as it is.
        Assert.Equal(2, owner.LedgerBacklog);
        Assert.Empty(await other.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());

        // The owner's own reader hurries the pass.
        Assert.Equal(2, (await owner.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
        Assert.Equal(0, owner.LedgerBacklog);
        Assert.Equal(2, (await other.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
        Assert.Single(await owner.GetUsageTotalsAsync(null, null, null, None).WithTimeout());

        // A store without the journal writes straight into the database.
        await other.AppendLedgerAsync([FullEntry("req-3")], None).WithTimeout();
        Assert.Equal(3, (await other.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    [Fact]
    public async Task WithoutAReader_RowsReachTheDatabaseWithinAPass()
    {
        await using var owner = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        await owner.AppendLedgerAsync([FullEntry("req-1")], None).WithTimeout();

        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((await other.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count == 0)
        {
            Assert.True(waited.Elapsed < TestTimeouts.Default, "the row never reached the database");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task AFullBacklog_MakesTheNextAppendWaitForAPass()
    {
        await using var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never);
        await owner.MigrateAsync(None).WithTimeout();
        var full = Enumerable.Range(0, LedgerJournal.MaxPendingRows).Select(i => LedgerSamples.Entry($"req-{i:D6}")).ToList();

        await owner.AppendLedgerAsync(full, None).WithTimeout();
        Assert.Equal(LedgerJournal.MaxPendingRows, owner.LedgerBacklog);
        await owner.AppendLedgerAsync([FullEntry("req-last")], None).WithTimeout();

        Assert.Equal(1, owner.LedgerBacklog);
    }

    [Fact]
    public async Task APassThatFails_KeepsItsRowsForTheNext_AndTellsTheReaderWaitingForIt()
    {
        var inserted = new List<string>();
        var failNext = true;
        var journal = LedgerJournal.TryOpen(_folder.File("journal"), flushToDisk: false, rows =>
        {
            if (failNext)
            {
                failNext = false;
                throw new IOException("disk full");
            }
            inserted.AddRange(rows.Select(r => r.RequestId));
        }, Never)!;
        await using (journal)
        {
            await journal.AppendAsync([FullEntry("req-1")], None).AsTask().WithTimeout();
            await journal.AppendAsync([FullEntry("req-2")], None).AsTask().WithTimeout();

            await Assert.ThrowsAsync<IOException>(() => journal.CatchUpAsync(None).AsTask()).WithTimeout();
            Assert.Empty(inserted);

            await journal.AppendAsync([FullEntry("req-3")], None).AsTask().WithTimeout();
            await journal.CatchUpAsync(None).AsTask().WithTimeout();
            Assert.Equal(["req-1", "req-2", "req-3"], inserted);
            Assert.Equal(0, journal.Backlog);
        }

        Assert.Empty(Directory.GetFiles(_folder.File("journal"), "*.journal"));
    }

    [Fact]
    public async Task ASegmentThatCannotBeDeleted_AfterItsRowsAreIn_StopsNeitherThePassNorItsReaders()
    {
        var folder = _folder.File("journal");
        var ingested = new List<string>();
        var journal = LedgerJournal.TryOpen(folder, flushToDisk: false, rows => ingested.AddRange(rows.Select(r => r.RequestId)), Never)!;
        await using (journal)
        {
            // A batch larger than a segment gets one of its own, deleted (not kept as the spare) once its rows are in.
            var body = Utf8Text.From(new string('x', LedgerJournal.SegmentBytes / 4));
            await journal.AppendAsync([.. Enumerable.Range(0, 5).Select(i => FullEntry($"req-big-{i}") with { RequestBody = body })], None).AsTask().WithTimeout();
            await journal.AppendAsync([FullEntry("req-1")], None).AsTask().WithTimeout();
            // Something in the way of its deletion (as a read-only folder would be).
            var big = Path.Combine(folder, $"{1:D12}.journal");
            File.Move(big, big + ".moved");
            Directory.CreateDirectory(Path.Combine(big, "in-the-way"));

            await journal.CatchUpAsync(None).AsTask().WithTimeout();
            Assert.True(journal.TryAppend(FullEntry("req-2")));
            await journal.CatchUpAsync(None).AsTask().WithTimeout();

            Assert.Equal(7, ingested.Count);
            Assert.Equal(0, journal.Backlog);
        }
    }

    [Fact]
    public async Task AReaderArrivingWhileAPassRuns_IsAnsweredByThatPass()
    {
        using var passStarted = new SemaphoreSlim(0);
        using var passMayEnd = new SemaphoreSlim(0);
        var journal = LedgerJournal.TryOpen(_folder.File("journal"), flushToDisk: false, _ =>
        {
            passStarted.Release();
            passMayEnd.Wait();
        }, Never)!;
        await using (journal)
        {
            await journal.AppendAsync([FullEntry("req-1")], None).AsTask().WithTimeout();
            var first = journal.CatchUpAsync(None).AsTask();
            await passStarted.WaitAsync().WithTimeout();

            // The row is in the pass now running; no other row comes, so no other pass would.
            var second = journal.CatchUpAsync(None).AsTask();
            passMayEnd.Release();

            await Task.WhenAll(first, second).WithTimeout();
            passMayEnd.Release(10);
        }
    }

    [Fact]
    public async Task RowsTheDatabaseDidNotTakeBeforeTheStop_AreReplayedByTheNextOwner()
    {
        var folder = _folder.File("journal");
        var journal = LedgerJournal.TryOpen(folder, flushToDisk: false, _ => throw new IOException("disk full"), Never)!;
        await journal.AppendAsync([FullEntry("req-1"), FullEntry("req-2")], None).AsTask().WithTimeout();
        Assert.Null(LedgerJournal.TryOpen(folder, flushToDisk: false, _ => { }, Never));
        await journal.DisposeAsync();

        var replayed = new List<string>();
        var next = LedgerJournal.TryOpen(folder, flushToDisk: false, rows => replayed.AddRange(rows.Select(r => r.RequestId)), Never)!;
        await using (next)
        {
            Assert.Equal(2, next.Replayed);
        }

        Assert.Equal(["req-1", "req-2"], replayed);
        Assert.Empty(Directory.GetFiles(folder, "*.journal"));
    }

    [Fact]
    public void FolderSync_SyncsAFolder_AndSaysWhichOneItCouldNotOpen()
    {
        // With sqliteSync: full, a segment's name is synced with its folder before its first rows are acknowledged.
        Directory.CreateDirectory(JournalFolder);
        FolderSync.Sync(JournalFolder);

        var missing = Path.Combine(JournalFolder, "missing");
        var error = Assert.Throws<IOException>(() => FolderSync.Sync(missing));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("could not open", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARowTheDatabaseWouldRefuse_FailsItsBatch_BeforeItIsJournaled()
    {
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendLedgerAsync([FullEntry("req-1"), FullEntry("req-2") with { Model = null! }], None)).WithTimeout();

        Assert.Equal(0, ((SqliteStore)store).LedgerBacklog);
        Assert.Empty(await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task ARowTakenAtOnce_IsInTheSegmentFile_BeforeAnyPass()
    {
        await using var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never);
        await owner.MigrateAsync(None).WithTimeout();

        Assert.True(owner.TryAppendLedger(FullEntry("req-1")));
        Assert.True(owner.TryAppendLedger(FullEntry("req-2")));

        // Read through the file, as the next owner would after a crash: the copies into the mapping are the file's pages.
        var segment = Assert.Single(Directory.GetFiles(JournalFolder, "*.journal"));
        var rows = ReadSegment(segment);
        Assert.Equal([FullEntry("req-1"), FullEntry("req-2")], rows);
        Assert.Equal(2, owner.LedgerBacklog);
        Assert.Equal(2, (await owner.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    [Fact]
    public async Task ARowIsNotTakenAtOnce_WhenTheJournalFlushesToDisk_TheRowIsRefusable_OrTheStoreIsClosed()
    {
        await using (var syncing = new SqliteStore(DbPath, null, fullSync: true, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never))
        {
            await syncing.MigrateAsync(None).WithTimeout();
            Assert.True(syncing.Journaled);
            Assert.False(syncing.TryAppendLedger(FullEntry("req-1")));
        }

        var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never);
        await owner.MigrateAsync(None).WithTimeout();
        Assert.False(owner.TryAppendLedger(FullEntry("req-2") with { Endpoint = null! }));
        Assert.True(owner.TryAppendLedger(FullEntry("req-3")));
        await owner.DisposeAsync();
        Assert.False(owner.TryAppendLedger(FullEntry("req-4")));

        await using var reopened = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        Assert.Equal(["req-3"], (await reopened.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId));
    }

    [Fact]
    public async Task ASegmentThatCannotBeMade_FailsTheAppend_AndTheNextAppendMakesIt()
    {
        var folder = _folder.File("journal");
        var ingested = new List<string>();
        await using var journal = LedgerJournal.TryOpen(folder, flushToDisk: false, rows => ingested.AddRange(rows.Select(r => r.RequestId)), Never)!;
        // Something in the way of the first segment's file (as a full disk or a read-only folder would be).
        var blocked = Directory.CreateDirectory(Path.Combine(folder, $"{1:D12}.journal"));

        Assert.False(journal.TryAppend(FullEntry("req-1")));
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => journal.AppendAsync([FullEntry("req-1")], None).AsTask()).WithTimeout();
        Assert.True(failed is IOException or UnauthorizedAccessException, failed.ToString());
        Assert.Equal(0, journal.Backlog);

        blocked.Delete();
        Assert.True(journal.TryAppend(FullEntry("req-2")));
        await journal.CatchUpAsync(None).AsTask().WithTimeout();
        Assert.Equal(["req-2"], ingested);
    }

    [Fact]
    public async Task SegmentsRollOver_AndTheIngestedOnesAreEmptiedForReuse_OrDeleted()
    {
        await using var owner = new SqliteStore(DbPath, null, fullSync: false, SqliteStore.DefaultCheckpointInterval, SqliteStore.DefaultRestartFrames, ingestInterval: Never);
        await owner.MigrateAsync(None).WithTimeout();
        var body = new string('x', 64 * 1024);
        var perSegment = (int)(LedgerJournal.SegmentBytes / body.Length);

        for (var i = 0; i < 3 * perSegment; i++)
        {
            await owner.AppendLedgerAsync([LedgerSamples.Entry($"req-{i:D6}") with { RequestBody = Utf8Text.From(body) }], None).WithTimeout();
        }

        Assert.True(Directory.GetFiles(JournalFolder, "*.journal").Length >= 3);
        Assert.Equal(3 * perSegment, (await owner.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);

        // The segment being written, and one emptied for the next: it holds no row, whatever it held before. The pass answers
        // readers before it retires the segments their rows came from, so the folder is tidied a moment after the read.
        var left = await SegmentsOnceTidiedAsync(2);
        Assert.Equal(2, left.Count);
        Assert.Empty(ReadSegment(left[0]));
        var last = (int)LedgerJournal.SegmentBytes;
        Assert.All(left, path => Assert.Equal(last, new FileInfo(path).Length));

        // The next rollover takes the emptied one, renumbered: no new file.
        for (var i = 0; i < perSegment; i++)
        {
            await owner.AppendLedgerAsync([LedgerSamples.Entry($"req-b{i:D6}") with { RequestBody = Utf8Text.From(body) }], None).WithTimeout();
        }

        Assert.Equal(4 * perSegment, (await owner.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
        var now = await SegmentsOnceTidiedAsync(2);
        Assert.Equal(2, now.Count);
        Assert.DoesNotContain(left[0], now);

        async Task<List<string>> SegmentsOnceTidiedAsync(int expected)
        {
            using var cts = new CancellationTokenSource(TestTimeouts.Default);
            var segments = Directory.GetFiles(JournalFolder, "*.journal").Order().ToList();
            while (segments.Count > expected && !cts.IsCancellationRequested)
            {
                await Task.Delay(20, CancellationToken.None);
                segments = Directory.GetFiles(JournalFolder, "*.journal").Order().ToList();
            }
            return segments;
        }
    }

    /// <summary>A row whose body spans several pages of a segment.</summary>
    private static LedgerEntry LargeEntry(string requestId) => FullEntry(requestId) with { RequestBody = Utf8Text.From(new string('x', 12 * 1024)) };

    /// <summary>The segment at <paramref name="path"/> was set aside once its readable rows were in, and the store says so (naming <paramref name="unread"/>).</summary>
    private void AssertSetAside(ICorridorStore store, string path, string unread)
    {
        Assert.False(File.Exists(path));
        Assert.True(File.Exists(path + LedgerJournal.SetAsideExtension));
        Assert.Equal(1, store.LedgerJournalSetAsideFiles);
        var message = Assert.Single(store.LedgerJournalSetAside);
        Assert.Contains(path + LedgerJournal.SetAsideExtension, message, StringComparison.Ordinal);
        Assert.Contains(unread, message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(JournalFolder, "*.journal"));
    }

    [Fact]
    public void Salvage_ReadsEveryFrameThatVerifies_PastDamagedPayloads_AndNothingPastADamagedLength()
    {
        var buffer = new LedgerJournalFormat.Buffer();
        foreach (var id in new[] { "req-1", "req-2", "req-3", "req-4", "req-5" })
        {
            LedgerJournalFormat.WriteFrames(buffer, [FullEntry(id) with { RequestBody = Utf8Text.From(new string('x', 5000)) }]);
        }
        var bytes = buffer.Written.ToArray();
        var starts = FrameStarts([.. LedgerJournalFormat.Header, .. bytes, 0, 0, 0, 0]).Select(s => s - LedgerJournalFormat.Header.Length).ToList();
        bytes[starts[1] + 100] ^= 0x04;                                   // a payload's bit: the frame skipped whole
        bytes[starts[3] + 2] = 0x7F;                                      // a length: nothing read past it
        bytes.AsSpan(starts[3] + 200, 1000).Clear();                      // and zeros where a page did not reach the disk
        // A frame a client could have written into its request body: found only by a search, which is not made.
        var planted = new LedgerJournalFormat.Buffer();
        LedgerJournalFormat.WriteFrames(planted, [FullEntry("req-planted")]);
        planted.Written.CopyTo(bytes.AsSpan(starts[4] + 300));
        byte[] segment = [.. bytes, .. new byte[10_000]];

        var rows = new List<LedgerEntry>();
        var damaged = LedgerJournalFormat.Salvage(segment, rows);

        Assert.Equal(["req-1", "req-3"], rows.Select(r => r.RequestId));
        // Each range ends at its last byte that is not zero: before the next frame, or at the end of what was written.
        Assert.Equal([starts[1], starts[3]], damaged.Select(d => d.Start));
        Assert.InRange(damaged[0].End, starts[2] - 8, starts[2]);
        Assert.InRange(damaged[1].End, bytes.Length - 8, bytes.Length);
    }

    /// <summary>
    /// Writes a segment's <paramref name="bytes"/> to <paramref name="path"/> and opens the journal over it (synced appends,
    /// as a power loss would find them): the rows it replayed, their ids in order, and the warnings it gave.
    /// </summary>
    private async Task<(int Replayed, List<string> Ingested, List<string> Warnings)> OpenTornAsync(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        var ingested = new List<string>();
        var warnings = new List<string>();
        await using var journal = LedgerJournal.TryOpen(JournalFolder, flushToDisk: true, rows => ingested.AddRange(rows.Select(r => r.RequestId)), Never, warnings.Add);
        Assert.NotNull(journal);
        return (journal.Replayed, ingested, warnings);
    }

    /// <summary>Where each frame of a segment's bytes starts (in the file), up to the zeros after them.</summary>
    private static List<int> FrameStarts(byte[] bytes)
    {
        var starts = new List<int>();
        for (var at = LedgerJournalFormat.Header.Length; System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at)) is var length and > 0;
            at += LedgerJournalFormat.FrameHeaderLength + length)
        {
            starts.Add(at);
        }

        return starts;
    }

    /// <summary>A frame of one row, <paramref name="bytes"/> long with its header (the row's body sized to fit).</summary>
    private static LedgerJournalFormat.Buffer FrameOfLength(int bytes, string requestId)
    {
        var frame = new LedgerJournalFormat.Buffer();
        for (var body = Math.Max(0, bytes - 512); frame.Length != bytes; body++)
        {
            Assert.True(frame.Length < bytes);
            frame.Clear();
            LedgerJournalFormat.WriteFrames(frame, [LedgerSamples.Entry(requestId) with { RequestBody = Utf8Text.From(new string('x', body)) }]);
        }

        return frame;
    }

    /// <summary>Where the last frame of a segment's bytes starts.</summary>
    private static int LastFrameStart(byte[] bytes)
    {
        var at = LedgerJournalFormat.Header.Length;
        while (true)
        {
            var next = at + LedgerJournalFormat.FrameHeaderLength + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(next)) == 0)
            {
                return at;
            }

            at = next;
        }
    }

    /// <summary>The rows a segment file holds, read as a replay reads them.</summary>
    private static List<LedgerEntry> ReadSegment(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        Assert.True(bytes.AsSpan().StartsWith(LedgerJournalFormat.Header));
        var rows = new List<LedgerEntry>();
        Assert.True(LedgerJournalFormat.ReadFrames(bytes.AsSpan(LedgerJournalFormat.Header.Length), rows));
        return rows;
    }

    /// <summary>
    /// Writes a segment as an owner would have, the last frame cut short by <paramref name="cutLastFrameBy"/> bytes; with
    /// <paramref name="mapped"/>, zeros after the frames up to a mapped segment's length.
    /// </summary>
    private string WriteSegment(long id, LedgerEntry[][] batches, int cutLastFrameBy = 0, bool mapped = false)
    {
        Directory.CreateDirectory(JournalFolder);
        var buffer = new LedgerJournalFormat.Buffer();
        foreach (var batch in batches)
        {
            LedgerJournalFormat.WriteFrames(buffer, batch);
        }

        var path = Path.Combine(JournalFolder, $"{id:D12}.journal");
        byte[] bytes = [.. LedgerJournalFormat.Header, .. buffer.Written[..^cutLastFrameBy]];
        if (mapped)
        {
            Array.Resize(ref bytes, LedgerJournal.SegmentBytes);
        }
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
