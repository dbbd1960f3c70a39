namespace Corridor.Cli;
internal static class Program
{
    private static int Main()
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "select sqlite_version()";
        Console.WriteLine(cmd.ExecuteScalar());
        return 0;
    }
}
