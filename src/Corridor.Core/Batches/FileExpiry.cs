using System.Globalization;
using System.Text.Json;

namespace Corridor.Core.Batches;

/// <summary>
/// OpenAI's expiration policy of a file (<c>expires_after</c> on upload, <c>output_expires_after</c> on a batch for its
/// result files): <c>{anchor: "created_at", seconds}</c>, the file expiring that many seconds after it is made, from one
/// hour to 30 days, and at most the operator's file retention.
/// </summary>
public static class FileExpiry
{
    /// <summary>The shortest expiry OpenAI accepts: one hour.</summary>
    public static readonly TimeSpan Shortest = TimeSpan.FromSeconds(3600);

    /// <summary>The longest expiry OpenAI accepts: 30 days (2,592,000 seconds).</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(2_592_000);

    /// <summary>The only anchor OpenAI knows: the file's creation.</summary>
    public const string Anchor = "created_at";

    /// <summary>
    /// The policy sent as an object (a batch's <c>output_expires_after</c>): its expiry, or the fault, naming
    /// <paramref name="param"/>. <paramref name="most"/> is the longest this Corridor keeps a file.
    /// </summary>
    public static (TimeSpan? After, string? Error) Read(JsonElement policy, string param, TimeSpan most)
    {
        if (policy.ValueKind != JsonValueKind.Object)
        {
            return (null, $"'{param}' must be an object {{\"anchor\": \"created_at\", \"seconds\": ...}}.");
        }
        var anchor = policy.TryGetProperty("anchor", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        var seconds = policy.TryGetProperty("seconds", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetRawText() : null;
        return Read(anchor, seconds, param, most);
    }

    /// <summary>
    /// The policy sent as its two fields (a multipart upload's <c>expires_after[anchor]</c> and <c>expires_after[seconds]</c>):
    /// its expiry, or the fault, naming <paramref name="param"/>. <paramref name="most"/> is the longest this Corridor keeps a file.
    /// </summary>
    public static (TimeSpan? After, string? Error) Read(string? anchor, string? seconds, string param, TimeSpan most)
    {
        if (anchor != Anchor)
        {
            return (null, $"'{param}.anchor' must be \"{Anchor}\".");
        }
        var longest = most < Longest ? most : Longest;
        if (!long.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value < Shortest.TotalSeconds || value > longest.TotalSeconds)
        {
            return (null, $"'{param}.seconds' must be a whole number of seconds from {Shortest.TotalSeconds} to {longest.TotalSeconds}.");
        }
        return (TimeSpan.FromSeconds(value), null);
    }
}
