using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Corridor.Storage.Sqlite;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Sqlite;

/// <summary>
/// The database file's older pages leave the operating system's cache before each checkpoint (<see cref="PageCacheRelease"/>).
/// Which pages are cached is read with <c>mincore</c> on a mapping of the file: Linux only, like the release itself.
/// </summary>
public sealed class PageCacheReleaseTests : IDisposable
{
    private const int Page = 4096;
    private const long MiB = 1 << 20;
    private static readonly CancellationToken None = CancellationToken.None;

    // Beside the test's build, on the disk the checkout is on: the system temp folder may be memory (tmpfs), whose pages
    // the kernel cannot drop.
    private readonly TempDirectory _folder = new(AppContext.BaseDirectory);

    public void Dispose() => _folder.Dispose();

    [LinuxFact]
    public void Release_DropsWhatLiesBeforeTheKeptEnd_OnceEach()
    {
        var path = _folder.File("grown.bin");
        Append(path, 8 * MiB);
        Assert.Equal(1.0, CachedShare(path, 0, 8 * MiB)); // just written: all cached

        using var release = PageCacheRelease.TryOpen(path, keptBytes: 2 * MiB)!;
        release.Release();
        Assert.Equal(0.0, CachedShare(path, 0, 6 * MiB));
        Assert.Equal(1.0, CachedShare(path, 6 * MiB, 2 * MiB));

        // Read again (a report over old rows): cached again, and not dropped a second time as the file grows.
        ReadAll(path, 0, 1 * MiB);
        Append(path, 4 * MiB);
        release.Release();
        Assert.Equal(1.0, CachedShare(path, 0, 1 * MiB));
        Assert.Equal(0.0, CachedShare(path, 6 * MiB, 4 * MiB)); // (the read's readahead may have brought in more after 1 MiB)
        Assert.Equal(1.0, CachedShare(path, 10 * MiB, 2 * MiB));

        // Nothing new before the kept end: nothing to do.
        release.Release();
        Assert.Equal(1.0, CachedShare(path, 10 * MiB, 2 * MiB));
    }

    [LinuxFact]
    public async Task TheStoresCheckpoints_ReleaseAllButTheKeptEnd_AndEveryRowReadsBack()
    {
        const int rows = 20_000; // with a request body and an answer each, about 10 MiB of file
        var path = _folder.File("data/corridor.db");
        await using var store = new SqliteStore(path, null, fullSync: false, TimeSpan.FromMilliseconds(20), SqliteStore.DefaultRestartFrames,
            ingestInterval: TimeSpan.FromMilliseconds(5), cachedBytes: 1 * MiB);
        await store.MigrateAsync(None).WithTimeout();
        for (var written = 0; written < rows; written += 500)
        {
            var batch = Enumerable.Range(written, 500).Select(i => LedgerSamples.Entry($"req-{i:D8}", LedgerSamples.Start.AddMilliseconds(i)) with
            {
                RequestBody = Core.Metering.Utf8Text.From(new string('q', 300)),
                ResponseText = new string('a', 200),
            }).ToList();
            await store.AppendLedgerAsync(batch, None).WithTimeout();
        }

        // Two more checkpoints: the first copies the last rows into the file, the next releases what lies before its
        // end. What the kernel then holds is not checked here (the test above does): a page SQLite reads again comes back
        // with the kernel's readahead around it (up to 8 MiB on the development machine), so what stays cached depends on
        // what SQLite happened to read (checked on the file's first 2 MiB, it failed one full test run in a few).
        await WaitUntilAsync(() => new FileInfo(path).Length is var length && length > 6 * MiB && store.PageCacheReleasedUpTo >= length - MiB);

        Assert.Equal(rows, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    private static void Append(string path, long bytes)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
        var chunk = new byte[MiB];
        Array.Fill(chunk, (byte)'x');
        for (var written = 0L; written < bytes; written += chunk.Length)
        {
            file.Write(chunk);
        }

        file.Flush(flushToDisk: true); // the kernel drops only pages already on the disk
    }

    private static void ReadAll(string path, long offset, long length)
    {
        using var file = File.OpenHandle(path);
        var buffer = new byte[length];
        Assert.Equal(length, RandomAccess.Read(file, buffer, offset));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the checkpoints never released the file's older pages");
            await Task.Delay(20);
        }
    }

    /// <summary>The share of the file's pages in [offset, offset + length) that the kernel has cached.</summary>
    private static double CachedShare(string path, long offset, long length)
    {
        Assert.Equal(0, offset % Page);
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        var pages = new byte[(length + Page - 1) / Page];
        var start = view.SafeMemoryMappedViewHandle.DangerousGetHandle() + (nint)offset;
        Assert.Equal(0, Mincore(start, (nuint)length, pages));
        return pages.Count(p => (p & 1) != 0) / (double)pages.Length;
    }

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int Mincore(nint start, nuint length, [Out] byte[] pages);
}

/// <summary>A fact that runs on Linux only (what it checks is a Linux system call's effect).</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only";
        }
    }
}
