using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// Lets the operating system drop a growing database file's older pages from its cache, once each, just before the next
/// checkpoint writes new ones, so the file's growth reuses memory the kernel has just freed instead of taking fresh pages.
/// Fresh pages are what a growing file costs most: a virtual machine that hands free memory back to its host (balloon free
/// page reporting, as on the Firecracker machines the bench runs on) pays for each one again as it is first touched,
/// about 20–30 µs a 4 KiB page there against about 1 µs for a page just freed (bench/README, "Tenth round"). Elsewhere it
/// keeps the ledger's old rows from filling the cache. The ledger, the audit log and the monitor's rows are only appended;
/// the last <see cref="KeptBytes"/> of the file (recent rows, the pages a new row touches) stay. A page dropped and read
/// again later (a report over old months, an index page) comes back from the disk, with the kernel's readahead around it,
/// and is not dropped a second time.
/// Nothing is lost: the kernel drops only pages already written to the disk (each checkpoint syncs the file; a page not
/// yet written stays cached). Linux only (<c>posix_fadvise</c>); elsewhere it does nothing.
/// </summary>
internal sealed partial class PageCacheRelease : IDisposable
{
    /// <summary>How much of the file's end stays cached.</summary>
    internal const long DefaultKeptBytes = 64L << 20;

    private const int DontNeed = 4; // POSIX_FADV_DONTNEED on Linux

    private readonly SafeFileHandle _file;
    private long _releasedUpTo;

    private PageCacheRelease(SafeFileHandle file, long keptBytes)
    {
        _file = file;
        KeptBytes = keptBytes;
    }

    public long KeptBytes { get; }

    /// <summary>Where the dropped part of the file ends: everything before it has been dropped once.</summary>
    public long ReleasedUpTo => _releasedUpTo;

    /// <summary>Null where the operating system has no such call, or when the file cannot be opened (nothing is then released).</summary>
    public static PageCacheRelease? TryOpen(string path, long keptBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return new PageCacheRelease(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), keptBytes);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Drops what lies before the kept end and was not dropped before. A failed call leaves the cache as it was.</summary>
    public void Release()
    {
        long end;
        try
        {
            end = RandomAccess.GetLength(_file) - KeptBytes;
        }
        catch (IOException)
        {
            return; // the checkpoints go on; the cache is only kept as it would be without this
        }

        if (end <= _releasedUpTo)
        {
            return;
        }

        var added = false;
        _file.DangerousAddRef(ref added);
        try
        {
            if (Advise((int)_file.DangerousGetHandle(), _releasedUpTo, end - _releasedUpTo, DontNeed) == 0)
            {
                _releasedUpTo = end;
            }
        }
        finally
        {
            if (added)
            {
                _file.DangerousRelease();
            }
        }
    }

    public void Dispose() => _file.Dispose();

    // Returns the error number rather than setting errno.
    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Advise(int descriptor, long offset, long length, int advice);
}
