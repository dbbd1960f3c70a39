using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Corridor.Storage;

/// <summary>
/// Syncs a folder's entries to the disk: a file made (or renamed) and then synced itself can still vanish in a power cut
/// until the folder that names it is synced too, which POSIX asks for and not every file system does on its own. .NET has
/// no call for it (a folder cannot be opened as a <see cref="FileStream"/>), so this opens the folder and calls
/// <c>fsync</c> on it through the C library. Windows keeps names in its file system's own journal; there it does nothing.
/// </summary>
public static partial class FolderSync
{
    private const int ReadOnly = 0;

    public static void Sync(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var descriptor = Open(folder, ReadOnly);
        if (descriptor < 0)
        {
            throw Failure("open", folder);
        }

        try
        {
            if (FSync(descriptor) != 0)
            {
                throw Failure("sync", folder);
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private static IOException Failure(string what, string folder)
    {
        var error = Marshal.GetLastPInvokeError();
        return new IOException($"could not {what} the folder {folder}: {new Win32Exception(error).Message}", error);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
