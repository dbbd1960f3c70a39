using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// The page of <c>GET /v1/models</c> a client asks for. Anthropic's: <c>limit</c> (20 unless given, 1 to 1000) items
/// after <c>after_id</c> or before <c>before_id</c>, as the Anthropic SDKs' <c>models.list</c> pages them. OpenAI's list is
/// whole unless the client sends <c>limit</c> or <c>after</c>, the parameters of OpenAI's cursor lists. The list is
/// ordered by id, so a cursor that is no longer listed (a model removed between two pages) still says where to go on.
/// </summary>
internal readonly record struct ModelsPage(int? Limit, string? After, string? Before)
{
    private const int AnthropicDefaultLimit = 20;
    private const int MaxLimit = 1000;

    /// <summary>Whether the client asked for a page rather than the whole list.</summary>
    public bool Paged => Limit is not null || After is not null || Before is not null;

    public static bool TryRead(IQueryCollection query, Dialect dialect, out ModelsPage page, out GatewayError error)
    {
        page = default;
        error = null!;
        int? limit = null;
        if (query.TryGetValue("limit", out var given))
        {
            if (!int.TryParse(given.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > MaxLimit)
            {
                error = GatewayError.Invalid($"limit: must be an integer from 1 to {MaxLimit}.", "limit");
                return false;
            }
            limit = value;
        }
        if (dialect == Dialect.Anthropic)
        {
            var after = Cursor(query, "after_id");
            var before = Cursor(query, "before_id");
            if (after is not null && before is not null)
            {
                error = GatewayError.Invalid("Give before_id or after_id, not both.", "before_id");
                return false;
            }
            page = new ModelsPage(limit ?? AnthropicDefaultLimit, after, before);
            return true;
        }
        page = new ModelsPage(limit, Cursor(query, "after"), null);
        return true;
    }

    /// <summary>The page's items of <paramref name="all"/> (ordered by id), and whether more lie beyond it in the direction it went.</summary>
    public List<(string Id, string Owner)> Of(List<(string Id, string Owner)> all, out bool hasMore)
    {
        if (Before is { } before)
        {
            var end = all.FindIndex(m => string.CompareOrdinal(m.Id, before) >= 0) is var at and >= 0 ? at : all.Count;
            var start = Math.Max(0, end - (Limit ?? end));
            hasMore = start > 0;
            return all.GetRange(start, end - start);
        }
        var after = After;
        var first = after is null ? 0 : all.FindIndex(m => string.CompareOrdinal(m.Id, after) > 0) is var next and >= 0 ? next : all.Count;
        var count = Math.Min(Limit ?? int.MaxValue, all.Count - first);
        hasMore = first + count < all.Count;
        return all.GetRange(first, count);
    }

    private static string? Cursor(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } id ? id : null;
}
