using Corridor.Core.Batches;

namespace Corridor.Storage;

/// <summary>A tenant's batches of both APIs, newest first, for the operator (the admin API and the command line).</summary>
public static class TenantBatches
{
    public static async Task<IReadOnlyList<BatchJob>> ListAsync(ICorridorStore store, string tenantId, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        // Without cursors: never refused.
        var openai = (await store.ListBatchesAsync(tenantId, BatchApi.OpenAI, null, null, limit, cancellationToken))!;
        var anthropic = (await store.ListBatchesAsync(tenantId, BatchApi.Anthropic, null, null, limit, cancellationToken))!;
        return openai.Concat(anthropic).OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.Id, StringComparer.Ordinal).Take(limit).ToList();
    }
}
