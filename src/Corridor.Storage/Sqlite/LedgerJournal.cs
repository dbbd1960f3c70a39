using System.Runtime.InteropServices;
using Corridor.Core.Metering;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The durable point of the embedded store's ledger: a batch, or a single row (<see cref="TryAppend"/>), is copied into a
/// journal segment beside the database, a file mapped into memory (<see cref="LedgerJournalSegment"/>; flushed to disk too
/// when the store syncs fully) and acknowledged, and a background pass inserts what has
/// gathered into SQLite every <see cref="DefaultIngestInterval"/>, hundreds of rows a transaction at load instead of the
/// handful a group commit gathers (docs/durability.md). Segments whose rows are all in SQLite are emptied and used again
/// (one is kept spare; any others are deleted, and a clean stop deletes them all); whatever a
/// crash leaves is inserted again by the next store that opens the file (<see cref="TryOpen"/>; the ledger ignores request
/// ids it already has). Readers of the ledger call <see cref="CatchUpAsync"/> first, so they see every row appended
/// before they asked.
/// One store owns the journal, through an exclusive lock on a file in its folder held while it is open; a store that
/// cannot take the lock (another process, or another store in this one, has the database open) writes its ledger rows
/// straight into SQLite instead.
/// </summary>
internal sealed class LedgerJournal : IAsyncDisposable
{
    /// <summary>How long rows gather before a pass inserts them; also how far behind the database another process reading it may be.</summary>
    internal static readonly TimeSpan DefaultIngestInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>A segment's length (a batch larger than one gets a segment of its own length).</summary>
    internal const int SegmentBytes = 8 * 1024 * 1024;

    /// <summary>Past this many rows waiting for SQLite (it is failing, or slower than the rows come), appends wait for a pass.</summary>
    internal const int MaxPendingRows = 20_000;

    private const string SegmentExtension = ".journal";
    private const int ReplayBatchRows = 1_000;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly string _folder;
    private readonly FileStream _lock;
    private readonly bool _flushToDisk;
    private readonly Action<IReadOnlyList<LedgerEntry>> _ingest;
    private readonly Action<string> _warn;
    private readonly TimeSpan _interval;
    private readonly Lock _sync = new();
    private readonly LedgerJournalFormat.Buffer _buffer = new();
    [ThreadStatic]
    private static LedgerJournalFormat.Buffer? t_rowBuffer;
    private readonly Queue<LedgerJournalSegment> _segments = new();
    private LedgerJournalSegment? _spare;
    // Events that block at once rather than spin: the pass's thread waits on them every pass, and a SemaphoreSlim spun
    // first, yielding its core on each turn (sched_yield, 1,200–2,000 a second at saturation; bench/README.md, "Eleventh
    // round") while the requests kept both cores busy.
    private readonly ManualResetEventSlim _rowsPending = new(false, spinCount: 0);
    private readonly ManualResetEventSlim _hurry = new(false, spinCount: 0);
    private readonly CancellationTokenSource _stopping = new();
    private LedgerJournalSegment? _segment;
    private long _segmentId;
    private bool _closed;
    private List<LedgerEntry> _pending = [];
    private long _firstPendingSegment;
    private long _appended;
    private long _ingested;
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private Task? _loop;

    private LedgerJournal(string folder, FileStream lockFile, bool flushToDisk, Action<IReadOnlyList<LedgerEntry>> ingest, Action<string> warn, TimeSpan interval)
    {
        _folder = folder;
        _lock = lockFile;
        _flushToDisk = flushToDisk;
        _ingest = ingest;
        _warn = warn;
        _interval = interval;
    }

    /// <summary>The journal's folder for the database at <paramref name="databasePath"/>.</summary>
    public static string FolderFor(string databasePath) => databasePath + "-ledger";

    /// <summary>
    /// Takes the journal in <paramref name="folder"/>, inserts what an earlier owner left in it (<see cref="Replayed"/>) and
    /// starts the passes; returns null when another store holds it. <paramref name="ingest"/> inserts rows into the
    /// database in one transaction (throwing leaves them for the next pass). A damaged segment has the rows that can be read
    /// of it inserted and is set aside (<see cref="SetAside"/>); that, and a last append a power loss cut, left out, are told
    /// to <paramref name="warn"/> (standard error when not given).
    /// </summary>
    public static LedgerJournal? TryOpen(string folder, bool flushToDisk, Action<IReadOnlyList<LedgerEntry>> ingest, TimeSpan interval, Action<string>? warn = null)
    {
        Directory.CreateDirectory(folder);
        if (TryLock(folder) is not { } lockFile)
        {
            return null;
        }

        var journal = new LedgerJournal(folder, lockFile, flushToDisk, ingest, warn ?? WarnOnStandardError, interval);
        try
        {
            journal.Replayed = journal.Replay();
        }
        catch (Exception)
        {
            // Nothing is pending and no pass runs yet: this releases the lock and leaves the segments as they are.
            journal.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        // A thread of its own, as the checkpoints have: a pass blocks on SQLite for milliseconds at load, which would hold
        // a thread-pool thread (and the responses queued behind it) as long.
        journal._loop = Task.Factory.StartNew(() => journal.Run(journal._stopping.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return journal;
    }

    /// <summary>
    /// The lock its owner holds on the journal in <paramref name="folder"/> (which exists), or null when a store (in this
    /// process or another) holds it: taken by <see cref="TryOpen"/>, and by <c>corridor restore</c> to know no store owns it.
    /// </summary>
    internal static FileStream? TryLock(string folder)
    {
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix, released by the kernel when the process dies.
            return new FileStream(Path.Combine(folder, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void WarnOnStandardError(string message) => Console.Error.WriteLine($"corridor: warning: {message}");

    /// <summary>Rows read from the segments an earlier owner left, inserted when this journal was opened.</summary>
    public int Replayed { get; private set; }

    /// <summary>Rows acknowledged but not yet in the database.</summary>
    public long Backlog
    {
        get
        {
            lock (_sync)
            {
                return _appended - _ingested;
            }
        }
    }

    /// <summary>
    /// Inserts the rows of the segments an earlier owner left (it crashed, or could not reach the database when it stopped)
    /// and deletes them. Returns the rows read. A segment that ends in a cut frame (a crash in the middle of an append, never
    /// acknowledged) is read up to it, and so is the newest segment when its last append is one a power loss cut
    /// (<see cref="LedgerJournalFormat.ReadFrames(ReadOnlySpan{byte}, List{LedgerEntry}, bool, out int)"/>), with a warning.
    /// A segment damaged elsewhere (a checksum, a length negative or, in a mapped segment, past its end, its header; with
    /// <c>sqliteSync: normal</c> a power loss can leave any of its pages behind) does not stop the start: every frame of
    /// it that matches its checksum is inserted (<see cref="LedgerJournalFormat.Salvage"/>), and once they are in the
    /// database the file is set aside, renamed with <see cref="SetAsideExtension"/>, for the operator, who may find rows
    /// there that no longer verify (<see cref="SetAside"/>; told to the warning too).
    /// </summary>
    private int Replay()
    {
        var leftovers = Directory.EnumerateFiles(_folder, "*" + SegmentExtension)
            .Select(path => (Id: long.TryParse(Path.GetFileNameWithoutExtension(path), out var id) ? id : -1, Path: path))
            .Where(s => s.Id >= 0)
            .OrderBy(s => s.Id)
            .ToList();
        var rows = new List<LedgerEntry>();
        var damaged = new List<(string Path, string Reason, List<(int Start, int End)> Unread, int Rows)>();
        // Only the newest segment takes appends: every segment before it was synced whole before the next was made.
        var newest = leftovers.Count > 0 ? leftovers[^1].Id : -1;
        foreach (var (id, path) in leftovers)
        {
            var bytes = File.ReadAllBytes(path);
            var header = LedgerJournalFormat.Header;
            // A file shorter than a header holds nothing, nor one all zeros (its header did not reach the disk before a
            // power loss; anything else in it would make it damaged).
            if (bytes.Length >= header.Length && bytes.AsSpan().ContainsAnyExcept((byte)0))
            {
                var segmentRows = new List<LedgerEntry>();
                try
                {
                    if (!bytes.AsSpan(0, header.Length).SequenceEqual(header))
                    {
                        throw new InvalidDataException("it does not start as a ledger journal does");
                    }

                    // A frame running past the end is a write cut by a crash only in a segment written with `write`, as
                    // segments were before they were mapped (and never as long as one). A mapped segment holds zeros past
                    // its frames and its lengths go in last, so there it is a damaged length, with rows behind it.
                    if (!LedgerJournalFormat.ReadFrames(bytes.AsSpan(header.Length), segmentRows, lastMayBeTorn: id == newest, out var tornAt)
                        && bytes.Length >= SegmentBytes)
                    {
                        throw new InvalidDataException("a frame's length runs past the segment's end");
                    }

                    if (tornAt >= 0)
                    {
                        _warn($"the ledger journal segment {path} ends in a frame (at byte {header.Length + tornAt}) that does not match "
                            + "its checksum, with nothing after it but the rest of its append: that append was cut by a power loss or an "
                            + "operating-system crash before it was on the disk, and with sqliteSync: full its rows were never acknowledged. "
                            + "Its rows are left out.");
                    }
                }
                catch (InvalidDataException e)
                {
                    segmentRows.Clear();
                    var headerLength = header.Length;
                    var unread = LedgerJournalFormat.Salvage(bytes.AsSpan(headerLength), segmentRows)
                        .ConvertAll(r => (r.Start + headerLength, r.End + headerLength));
                    if (!bytes.AsSpan(0, header.Length).SequenceEqual(header))
                    {
                        unread.Insert(0, (0, header.Length));
                    }

                    damaged.Add((path, e.Message, unread, segmentRows.Count));
                }

                rows.AddRange(segmentRows);
            }

            _segmentId = Math.Max(_segmentId, id);
        }

        foreach (var chunk in rows.Chunk(ReplayBatchRows))
        {
            _ingest(chunk);
        }

        // Only now that what could be read is in the database: a damaged segment set aside before would not be replayed again.
        var setAside = new List<string>();
        foreach (var (path, reason, unread, count) in damaged)
        {
            var aside = SetAsidePath(path);
            File.Move(path, aside);
            var message = $"the ledger journal segment {path} is damaged ({reason}; a power loss with sqliteSync: normal, or a damaged disk): "
                + $"the {count} rows of its frames that match their checksums are in the ledger, and it is set aside as {aside}. "
                + $"Bytes {string.Join(", ", unread.Select(r => $"{r.Start}–{r.End}"))} are not frames that match their checksums: "
                + "rows there, acknowledged or not, are not in the ledger. Move the file out of the folder once it has been looked at.";
            setAside.Add(message);
            _warn(message);
        }

        SetAside = setAside;
        foreach (var (_, path) in leftovers)
        {
            File.Delete(path);
        }

        return rows.Count;
    }

    /// <summary>Added to the name of a damaged segment once what could be read of it is in the database: no longer replayed, kept for the operator.</summary>
    internal const string SetAsideExtension = ".damaged";

    /// <summary>What this journal set aside when it was opened (<see cref="Replay"/>): one message a damaged segment, naming both files and what was not read.</summary>
    public IReadOnlyList<string> SetAside { get; private set; } = [];

    /// <summary>The segments set aside in <paramref name="folder"/> as damaged, by this process or an earlier one, until the operator moves them out.</summary>
    public static int SetAsideFiles(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*" + SegmentExtension + "*" + SetAsideExtension).Count() : 0;

    private static string SetAsidePath(string path)
    {
        var aside = path + SetAsideExtension;
        // Segment numbers start again once a journal is empty, so an earlier segment of the same number may be set aside already.
        for (var n = 2; File.Exists(aside); n++)
        {
            aside = $"{path}.{n}{SetAsideExtension}";
        }

        return aside;
    }

    /// <summary>Writes the batch to the journal; when this returns, the rows survive a crash of the process (and of the machine when flushing to disk).</summary>
    public async ValueTask AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        if (Backlog >= MaxPendingRows)
        {
            await WaitForIngestedAsync(Appended, cancellationToken);
        }

        // A row the database would refuse must fail its batch here, as it would without the journal: acknowledged, it
        // would fail every pass after it.
        foreach (var e in entries)
        {
            if (!Insertable(e))
            {
                throw new ArgumentException($"ledger row {e.RequestId ?? "(no request id)"} lacks its request id, model or endpoint", nameof(entries));
            }
        }

        var rows = AsSpan(entries);
        // A batch (sqliteSync: full, a full backlog; rare) is framed under the lock, in the journal's own buffer: a
        // thread's buffer, as a single row uses, would keep a batch's size on every pool thread that ever wrote one.
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _buffer.Clear();
            LedgerJournalFormat.WriteFrames(_buffer, rows);
            AppendLocked(_buffer.Written, rows);
        }
    }

    /// <summary>
    /// Appends one row at once, on the caller's thread, when that costs no more than a copy into the segment: false (the row
    /// goes to <see cref="AppendAsync"/> in a batch) when the journal flushes to disk (a flush a row would cost what batching
    /// saves), when the backlog is full, when SQLite would refuse the row (its batch reports it) or a new segment cannot be made.
    /// </summary>
    public bool TryAppend(LedgerEntry entry)
    {
        if (_flushToDisk || !Insertable(entry))
        {
            return false;
        }

        // The row's frame is made before the lock, in a buffer of the calling thread's: requests on every socket thread
        // append, and under the lock there is only the copy into the segment.
        var row = new ReadOnlySpan<LedgerEntry>(in entry);
        var buffer = t_rowBuffer ??= new LedgerJournalFormat.Buffer();
        buffer.Clear();
        LedgerJournalFormat.WriteFrames(buffer, row);
        lock (_sync)
        {
            if (_closed || _appended - _ingested >= MaxPendingRows)
            {
                return false;
            }

            try
            {
                AppendLocked(buffer.Written, row);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<LedgerEntry> AsSpan(IReadOnlyList<LedgerEntry> entries) => entries switch
    {
        LedgerEntry[] array => array,
        List<LedgerEntry> list => CollectionsMarshal.AsSpan(list),
        _ => entries.ToArray(),
    };

    private static bool Insertable(LedgerEntry e) => e.RequestId is not null && e.Model is not null && e.Endpoint is not null;

    /// <summary>Copies the rows' frames into the current segment (a new one when they do not fit) and counts the rows pending, waking the pass when they are the first.</summary>
    private void AppendLocked(ReadOnlySpan<byte> frames, ReadOnlySpan<LedgerEntry> entries)
    {
        if (_segment is null || frames.Length > _segment.Free)
        {
            StartSegment(frames.Length);
        }

        _segment!.Append(frames);
        if (_flushToDisk)
        {
            // A failed flush leaves the batch unacknowledged; should the rows reach the disk anyway, a replay inserts them
            // once, like the retry of the batch (the ledger ignores request ids it has).
            _segment.FlushToDisk();
        }

        if (_pending.Count == 0)
        {
            _firstPendingSegment = _segmentId;
            _rowsPending.Set();
        }

        foreach (var e in entries)
        {
            _pending.Add(e);
        }

        _appended += entries.Length;
    }

    /// <summary>Returns once every row appended before the call is in the database; throws when a pass that should have inserted them failed.</summary>
    public ValueTask CatchUpAsync(CancellationToken cancellationToken) =>
        WaitForIngestedAsync(Appended, cancellationToken);

    /// <summary>Waits until <paramref name="target"/> rows are in the database, hurrying the next pass.</summary>
    private async ValueTask WaitForIngestedAsync(long target, CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_sync)
        {
            if (_ingested >= target)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
        }

        _hurry.Set();
        await done.Task.WaitAsync(cancellationToken);
    }

    private void Run(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                _rowsPending.Wait(stopping);
                // Let rows gather, unless a reader or a full backlog is waiting.
                _hurry.Wait(_interval, stopping);
                // Every hurry so far is answered by this pass: each reader's rows were appended before it hurried.
                _hurry.Reset();

                if (!TryPass())
                {
                    stopping.WaitHandle.WaitOne(RetryDelay);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Inserts every pending row in one transaction and deletes the segments that hold no other; false when the insert failed (the rows stay pending).</summary>
    private bool TryPass()
    {
        List<LedgerEntry> rows;
        long firstSegment;
        lock (_sync)
        {
            rows = _pending;
            _pending = [];
            _rowsPending.Reset();
            firstSegment = _firstPendingSegment;
        }

        try
        {
            if (rows.Count > 0)
            {
                _ingest(rows);
            }
        }
        catch (Exception e)
        {
            List<(long, TaskCompletionSource Done)> failed;
            lock (_sync)
            {
                if (_pending.Count == 0)
                {
                    _rowsPending.Set();
                }
                else
                {
                    rows.AddRange(_pending);
                }

                _pending = rows;
                _firstPendingSegment = firstSegment;
                failed = [.. _waiters];
                _waiters.Clear();
            }

            // Everyone waiting learns that the database is not taking rows; the rows stay for the next pass.
            failed.ForEach(w => w.Done.TrySetException(e));
            return false;
        }

        var done = new List<LedgerJournalSegment>();
        var answered = new List<TaskCompletionSource>();
        lock (_sync)
        {
            _ingested += rows.Count;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= _ingested)
                {
                    answered.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }

            // Segments before the one holding the oldest row still pending (or before the one being written) are done.
            var keepFrom = _pending.Count > 0 ? _firstPendingSegment : _segmentId;
            while (_segments.TryPeek(out var segment) && segment.Id < keepFrom)
            {
                done.Add(_segments.Dequeue());
            }
        }

        // The rows are in the database whatever becomes of their segments: readers are answered first.
        answered.ForEach(w => w.TrySetResult());
        foreach (var segment in done)
        {
            Retire(segment);
        }

        return true;
    }

    /// <summary>Makes the next segment current: the spare, renumbered, when there is one large enough, else a new file.</summary>
    private void StartSegment(int frameBytes)
    {
        var capacity = Math.Max(SegmentBytes, LedgerJournalFormat.Header.Length + frameBytes);
        var id = _segmentId + 1;
        LedgerJournalSegment segment;
        if (_spare is { } spare && spare.Capacity >= capacity)
        {
            _spare = null;
            try
            {
                spare.Renumber(SegmentPath(id), id);
            }
            catch
            {
                Delete(spare);
                throw;
            }

            segment = spare;
        }
        else
        {
            segment = LedgerJournalSegment.Create(SegmentPath(id), id, capacity);
        }

        if (_flushToDisk)
        {
            // The segment's name must survive a power cut as its rows will (each append syncs the file itself).
            try
            {
                FolderSync.Sync(_folder);
            }
            catch
            {
                Delete(segment);
                throw;
            }
        }

        // The segment before stays in the queue until the pass finds all its rows in the database.
        _segmentId = id;
        _segments.Enqueue(segment);
        _segment = segment;
    }

    /// <summary>A segment whose rows are all in the database: emptied and kept as the spare, unless there is one already (or the journal is closing).</summary>
    private void Retire(LedgerJournalSegment segment)
    {
        if (segment.Capacity == SegmentBytes && Emptied(segment))
        {
            lock (_sync)
            {
                if (_spare is null && !_closed)
                {
                    _spare = segment;
                    return;
                }
            }
        }

        Delete(segment);
    }

    /// <summary>
    /// Empties a segment for reuse. When appends are flushed to disk the zeros are too: a power loss can cut the last
    /// append of the newest segment, and the replay takes a bad frame for that only when nothing but zeros follows it,
    /// which frames the segment held before would otherwise break. False (the segment is not reused) when that flush fails.
    /// </summary>
    private bool Emptied(LedgerJournalSegment segment)
    {
        segment.Empty();
        if (!_flushToDisk)
        {
            return true;
        }

        try
        {
            segment.FlushToDisk();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Unmaps the segment and deletes its file. A file that cannot be deleted (a read-only folder) is left for the next
    /// owner, which inserts its rows again (the ledger ignores request ids it has): a throw here would end the passes,
    /// and every append would then wait for one that never comes.
    /// </summary>
    private static void Delete(LedgerJournalSegment segment)
    {
        segment.Dispose();
        try
        {
            File.Delete(segment.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private long Appended
    {
        get
        {
            lock (_sync)
            {
                return _appended;
            }
        }
    }

    private string SegmentPath(long id) => Path.Combine(_folder, id.ToString("D12", System.Globalization.CultureInfo.InvariantCulture) + SegmentExtension);

    /// <summary>Stops the passes, inserts what is left, and deletes the segments once everything is in the database (otherwise the next owner replays them).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is { } loop)
        {
            await loop;
        }

        lock (_sync)
        {
            _closed = true;
        }

        var inserted = TryPass();
        lock (_sync)
        {
            _segment = null;
            if (_spare is { } spare)
            {
                Delete(spare);
                _spare = null;
            }

            // Everything in the database: no segment is needed any more. Otherwise the next owner replays them.
            var everythingIn = inserted && _pending.Count == 0;
            foreach (var segment in _segments)
            {
                if (everythingIn)
                {
                    Delete(segment);
                }
                else
                {
                    segment.Dispose();
                }
            }

            _segments.Clear();
        }

        _lock.Dispose();
        _stopping.Dispose();
        _rowsPending.Dispose();
        _hurry.Dispose();
    }
}
