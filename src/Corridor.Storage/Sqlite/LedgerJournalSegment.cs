using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// One segment file of the <see cref="LedgerJournal"/>, mapped into memory: an append copies its frames into the mapping,
/// which is the file's own page cache, so the rows survive a crash of the process as soon as the copy ends, without a
/// system call (a <c>write</c> of each batch was about a tenth of the gateway's CPU at saturation, bench/README.md "Eighth
/// round"). The whole length is allocated on disk when the file is made, so a copy never finds the disk full (a full disk
/// fails the making of a segment instead, which fails its append). Past what was appended, a segment holds zeros, which
/// read as its end (<see cref="LedgerJournalFormat.ReadFrames(ReadOnlySpan{byte}, List{Core.Metering.LedgerEntry})"/>). Once its rows are all in the database, a segment is
/// emptied and used again under a new number, rather than deleted and made again, which kept the file system allocating,
/// zeroing and freeing pages.
/// </summary>
internal sealed unsafe class LedgerJournalSegment : IDisposable
{
    private readonly FileStream _file;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _start;

    private LedgerJournalSegment(string path, long id, int capacity, FileStream file, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* start)
    {
        Path = path;
        Id = id;
        Capacity = capacity;
        _file = file;
        _map = map;
        _view = view;
        _start = start;
        Length = LedgerJournalFormat.Header.Length;
    }

    public string Path { get; private set; }

    public long Id { get; private set; }

    public int Capacity { get; }

    /// <summary>The header's and the appended frames' bytes.</summary>
    public int Length { get; private set; }

    public int Free => Capacity - Length;

    private Span<byte> Bytes => new(_start, Capacity);

    /// <summary>Makes the file at <paramref name="path"/> (it must not exist) with its header and <paramref name="capacity"/> bytes allocated, and maps it.</summary>
    public static LedgerJournalSegment Create(string path, long id, int capacity)
    {
        // Allocated on disk beyond its length; the header is written before the length is set, so a file a crash leaves
        // is either shorter than a header or a segment with nothing in it.
        var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = 0,
            PreallocationSize = capacity,
        });
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            file.Write(LedgerJournalFormat.Header);
            file.SetLength(capacity);
            map = MemoryMappedFile.CreateFromFile(file, null, capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, capacity, MemoryMappedFileAccess.ReadWrite);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            return new LedgerJournalSegment(path, id, capacity, file, map, view, start + view.PointerOffset);
        }
        catch
        {
            view?.Dispose();
            map?.Dispose();
            file.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="frames"/> (at most <see cref="Free"/> bytes) after what the segment holds. The first frame's
    /// length goes in last, in one store: a crash in the middle of the copy leaves a zero there, where a reader finds the
    /// segment's end, so a batch is either wholly in the segment or not at all.
    /// </summary>
    public void Append(ReadOnlySpan<byte> frames)
    {
        var target = Bytes.Slice(Length, frames.Length);
        frames[sizeof(int)..].CopyTo(target[sizeof(int)..]);
        BinaryPrimitives.WriteInt32LittleEndian(target, BinaryPrimitives.ReadInt32LittleEndian(frames));
        Length += frames.Length;
    }

    /// <summary>Writes what was appended to the disk (the mapping is the file's page cache, so the file's flush takes it).</summary>
    public void FlushToDisk() => _file.Flush(flushToDisk: true);

    /// <summary>
    /// Empties the segment, whose rows are all in the database, for use under another number. The first frame's length is
    /// cleared first, so from then on the file reads as holding nothing, whatever a crash leaves of the rest.
    /// </summary>
    public void Empty()
    {
        var frames = Bytes[LedgerJournalFormat.Header.Length..Length];
        frames[..Math.Min(sizeof(int), frames.Length)].Clear();
        frames.Clear();
        Length = LedgerJournalFormat.Header.Length;
    }

    /// <summary>Renames the (empty) segment to be number <paramref name="id"/>, at <paramref name="path"/>.</summary>
    public void Renumber(string path, long id)
    {
        File.Move(Path, path);
        Path = path;
        Id = id;
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _file.Dispose();
    }
}
