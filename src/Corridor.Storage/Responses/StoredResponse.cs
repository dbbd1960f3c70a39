using System.Text;

namespace Corridor.Storage.Responses;

/// <summary>
/// A Responses API answer kept for its tenant (docs/responses.md, "Stored responses"): what <c>GET /v1/responses/{id}</c>
/// gives back, what <c>…/input_items</c> lists, and what a later request names as its <c>previous_response_id</c>.
/// Read only by its tenant, and not at all from <see cref="ExpiresAt"/>.
/// </summary>
/// <param name="Id">The response's id (<c>resp_…</c>).</param>
/// <param name="TenantId">The tenant whose key made it: the only one that reads it.</param>
/// <param name="KeyId">The key that made it.</param>
/// <param name="Model">The model the client named.</param>
/// <param name="Status"><c>completed</c> or <c>incomplete</c> (a failed response is not kept).</param>
/// <param name="CreatedAt">When it was made (its <c>created_at</c>).</param>
/// <param name="ExpiresAt">When it stops being found, and the retention sweep removes it.</param>
public sealed record StoredResponse(string Id, string TenantId, string KeyId, string Model, string Status, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>The request's <c>instructions</c> (null: none); a later response that continues this one does not carry them.</summary>
    public string? Instructions { get; init; }

    /// <summary>
    /// The input items as the model saw them, a JSON array: those of the response this one continued (its input, then its
    /// output), then the request's own <c>input</c>, each with an id. A chain of responses is read in one read of its last.
    /// </summary>
    public string InputItems { get; init; } = "[]";

    /// <summary>The answer's output items, a JSON array (its <c>output</c>).</summary>
    public string OutputItems { get; init; } = "[]";

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    /// <summary>The response object as it was answered (whole, or the stream's last event's), a JSON object.</summary>
    public string Body { get; init; } = "{}";

    /// <summary>
    /// What it keeps, in UTF-8 bytes: its instructions, its items and its response object. Its tenant's sum, while kept, is
    /// what <c>responses.maxTenantBytes</c> bounds.
    /// </summary>
    public long Bytes => Encoding.UTF8.GetByteCount(Instructions ?? "") + Encoding.UTF8.GetByteCount(InputItems)
        + Encoding.UTF8.GetByteCount(OutputItems) + Encoding.UTF8.GetByteCount(Body);
}
