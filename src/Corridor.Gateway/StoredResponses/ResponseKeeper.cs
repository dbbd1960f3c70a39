using System.Collections.Concurrent;
using System.Text.Json;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Corridor.Storage.Responses;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.StoredResponses;

/// <summary>
/// The request pipeline's two steps for stored responses (docs/responses.md, "Stored responses"): a request that continues
/// a stored response (<c>previous_response_id</c>) is served with that response's items before its own input, once its
/// caller is known, and only a response of the caller's tenant; an answer that ended <c>completed</c> or <c>incomplete</c>
/// is kept, unless the client said <c>store: false</c>, before its last bytes are released, so a client that has it can
/// continue it at once.
/// </summary>
internal sealed partial class ResponseKeeper(ICorridorStore store, ResponsesOptions options, TimeProvider time, ILogger<ResponseKeeper> logger)
{
    /// <summary>The longest a response's last bytes wait for it to be kept: a store that does not answer delays them no longer.</summary>
    private static readonly TimeSpan KeepTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// For a request that names a <c>previous_response_id</c> (<see cref="CorridorRequestFeature.Continued"/>): reads that
    /// response of the caller's tenant and translates the request with its input and output items first
    /// (<see cref="FrontDoor.FrontDoor.Continue"/>). One of another tenant,
    /// expired, deleted or never kept is OpenAI's 400; a store that is away, a 503.
    /// </summary>
    public async ValueTask<GatewayError?> ContinueAsync(HttpContext context, CorridorRequestFeature call)
    {
        if (call.Continued is not { PreviousResponseId: var previousId })
        {
            return null;
        }
        StoredResponse? previous;
        try
        {
            // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls may block.
            await Task.Yield();
            previous = await store.GetResponseAsync(call.Caller!.Tenant.Id, previousId, time.GetUtcNow(), context.RequestAborted);
        }
        catch (Exception e) when (CorridorStoreException.IsStoreFailure(e) || e is NotSupportedException)
        {
            return new GatewayError(ErrorKind.Unavailable, "The previous response cannot be read now: Corridor cannot reach its store. Retry later.", "store_unavailable")
            {
                RetryAfter = "5",
            };
        }
        return previous is null
            ? new GatewayError(ErrorKind.InvalidRequest, $"Previous response with id '{previousId}' not found.", "previous_response_not_found", "previous_response_id")
            : FrontDoor.FrontDoor.Continue(call, [previous.InputItems, previous.OutputItems]);
    }

    /// <summary>How long a tenant's stored bytes read from the store count before they are read again (in the background).</summary>
    internal static readonly TimeSpan TenantBytesInterval = TimeSpan.FromSeconds(30);

    /// <summary>Responses answered but not kept because the store would not take them (<see cref="KeepAsync"/>): failed or timed out.</summary>
    public long NotKeptStoreFailed => Interlocked.Read(ref _notKeptStoreFailed);

    /// <summary>Responses answered but not kept because their tenant's stored responses were past <c>responses.maxTenantBytes</c> (<see cref="Limit"/>).</summary>
    public long NotKeptTenantBytes => Interlocked.Read(ref _notKeptTenantBytes);

    private long _notKeptStoreFailed;
    private long _notKeptTenantBytes;

    /// <summary>Each tenant's stored bytes as this gateway knows them; one entry per tenant that asked to keep a response.</summary>
    private readonly ConcurrentDictionary<string, TenantBytes> _tenants = new(StringComparer.Ordinal);

    /// <summary>
    /// A Responses answer to keep is not kept when its caller's tenant's stored responses are past
    /// <see cref="ResponsesOptions.MaxTenantBytes"/>: it is served all the same, and says <c>store: false</c> from its first
    /// byte (docs/responses.md). Never waits for the store: the tenant's bytes are those read from it at most
    /// <see cref="TenantBytesInterval"/> ago (read again in the background) plus what this gateway kept since; none read yet,
    /// none counted. So the bound can be passed by what is kept meanwhile (the first responses, another gateway's), as
    /// <c>batches.maxTenantBytes</c> can by uploads checked at once.
    /// </summary>
    public void Limit(CorridorRequestFeature call)
    {
        if (call.Responses is not { Store: true } responses || call.Caller is not { } caller)
        {
            return;
        }
        var tenantId = caller.Tenant.Id;
        var tenant = _tenants.GetOrAdd(tenantId, static _ => new TenantBytes());
        if (tenant.Due(time))
        {
            RefreshInBackground(tenantId, tenant);
        }
        var bytes = tenant.Total;
        if (bytes < options.MaxTenantBytes)
        {
            return;
        }
        responses.Store = false;
        Interlocked.Increment(ref _notKeptTenantBytes);
        LogOverTenantBytes(responses.ResponseId, tenantId, bytes, options.MaxTenantBytes);
    }

    /// <summary>Reads the tenant's stored bytes from the store, off the request's path; a store away leaves the last count, read again at the next interval.</summary>
    private void RefreshInBackground(string tenantId, TenantBytes tenant)
    {
        var addedBefore = Interlocked.Read(ref tenant.Added);
        _ = Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(KeepTimeout, time);
                var stored = await store.GetStoredResponseBytesAsync(tenantId, time.GetUtcNow(), timeout.Token);
                // What this gateway kept while the store was read may be counted twice until the next read: never too little.
                Interlocked.Exchange(ref tenant.Stored, stored);
                Interlocked.Add(ref tenant.Added, -addedBefore);
            }
            catch (Exception)
            {
                // The store away (its writes then fail too, and say so), or without stored responses: the last count stands.
            }
            finally
            {
                Volatile.Write(ref tenant.Refreshing, 0);
            }
        });
    }

    /// <summary>A tenant's stored bytes: as last read from the store, plus what this gateway kept since.</summary>
    private sealed class TenantBytes
    {
        public long Stored;
        public long Added;
        public int Refreshing;
        private long _readAt;
        private bool _read;

        public long Total => Interlocked.Read(ref Stored) + Interlocked.Read(ref Added);

        /// <summary>Whether to read the store again (never read, or longer ago than the interval), claiming the read when so.</summary>
        public bool Due(TimeProvider time)
        {
            if ((Volatile.Read(ref _read) && time.GetElapsedTime(Interlocked.Read(ref _readAt)) < TenantBytesInterval)
                || Interlocked.Exchange(ref Refreshing, 1) == 1)
            {
                return false;
            }
            Interlocked.Exchange(ref _readAt, time.GetTimestamp());
            Volatile.Write(ref _read, true);
            return true;
        }
    }

    /// <summary>
    /// Keeps the request's answer when it is a Responses answer to be stored that ended <c>completed</c> or
    /// <c>incomplete</c> (<see cref="ResponsesContext.Answered"/>); completes at once otherwise. Never throws: an answer the
    /// store would not take is still the client's, the failure is logged and counted, and the task's result is false: its
    /// bytes still held must then say so (<see cref="SayNotKept"/>).
    /// </summary>
    public Task<bool> KeepAsync(CorridorRequestFeature call)
    {
        if (call.Responses is not { Store: true, Answered: { } answered } responses || call.Caller is not { } caller || call.Outcome != Core.Metering.RequestOutcome.Success)
        {
            return Task.FromResult(true);
        }
        return Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(KeepTimeout, time);
                var row = Stored(responses, answered, caller.Tenant.Id, caller.Key.Id);
                await store.AddResponseAsync(row, timeout.Token);
                if (_tenants.TryGetValue(row.TenantId, out var tenant))
                {
                    Interlocked.Add(ref tenant.Added, row.Bytes);
                }
                return true;
            }
            catch (Exception e)
            {
                // The store away or slow past the timeout, or refusing: the answer is the client's all the same.
                Interlocked.Increment(ref _notKeptStoreFailed);
                LogNotKept(responses.ResponseId, e);
                return false;
            }
        });
    }

    /// <summary>
    /// An answer whose keeping failed (<see cref="KeepAsync"/>) says so in what is still held of it: the response object's
    /// <c>store</c> is <c>false</c> in a whole body (its <c>Content-Length</c> with it) and in a stream's held last events
    /// (<c>response.completed</c>, <c>response.incomplete</c>); a stream's first events, sent already, said <c>true</c>.
    /// </summary>
    public static void SayNotKept(HttpResponse response, HeldResponse held)
    {
        var bytes = held.WrittenSpan;
        if (bytes.IsEmpty || (bytes[0] == (byte)'{' && response.HasStarted))
        {
            return;
        }
        var rewritten = StoreFalse(bytes);
        if (rewritten is null)
        {
            return;
        }
        held.Dispose();
        held.Write(rewritten);
        if (rewritten[0] == (byte)'{')
        {
            response.ContentLength = rewritten.Length;
        }
    }

    /// <summary>
    /// <paramref name="held"/> with the response object's <c>"store":true</c> made <c>false</c>: of the body when it is one
    /// JSON object, else of each SSE <c>data:</c> line's <c>response</c>; null when there is none.
    /// </summary>
    internal static byte[]? StoreFalse(ReadOnlySpan<byte> held)
    {
        var at = new List<int>();
        if (held[0] == (byte)'{')
        {
            FindStore(held, 0, at);
        }
        else
        {
            foreach (var line in held.Split((byte)'\n'))
            {
                if (held[line].StartsWith("data: "u8))
                {
                    FindStore(held[line]["data: ".Length..], line.Start.GetOffset(held.Length) + "data: ".Length, at);
                }
            }
        }
        if (at.Count == 0)
        {
            return null;
        }
        var result = new byte[held.Length + at.Count];
        var from = 0;
        var to = 0;
        foreach (var position in at)
        {
            held[from..position].CopyTo(result.AsSpan(to));
            to += position - from;
            "false"u8.CopyTo(result.AsSpan(to));
            to += 5;
            from = position + 4;
        }
        held[from..].CopyTo(result.AsSpan(to));
        return result;
    }

    /// <summary>Adds where the <c>true</c> of <paramref name="json"/>'s response object's <c>store</c> begins (its top level's, or its <c>response</c>'s), offset by <paramref name="offset"/>.</summary>
    private static void FindStore(ReadOnlySpan<byte> json, int offset, List<int> at)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = Json.MaxDepth });
        var inResponse = false;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }
                var depth = reader.CurrentDepth;
                if (depth == 1)
                {
                    inResponse = reader.ValueTextEquals("response"u8);
                }
                if ((depth == 1 || (depth == 2 && inResponse)) && reader.ValueTextEquals("store"u8) && reader.Read() && reader.TokenType == JsonTokenType.True)
                {
                    at.Add(offset + (int)reader.TokenStartIndex);
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON after all (cannot happen for what Corridor wrote): nothing to change in it.
        }
    }

    /// <summary>The row of a response answered as <paramref name="answered"/> (the response object).</summary>
    private StoredResponse Stored(ResponsesContext responses, byte[] answered, string tenantId, string keyId)
    {
        using var document = JsonDocument.Parse(answered, new JsonDocumentOptions { MaxDepth = Json.MaxDepth });
        var root = document.RootElement;
        var createdAt = DateTimeOffset.FromUnixTimeSeconds(responses.CreatedAt);
        var usage = root.TryGet("usage", out var u) ? u : default;
        return new StoredResponse(responses.ResponseId, tenantId, keyId, root.StringOrNull("model") ?? "", root.StringOrNull("status") ?? "completed",
            createdAt, createdAt + options.EffectiveRetention)
        {
            Instructions = root.StringOrNull("instructions"),
            InputItems = ResponseItems.Stored(responses),
            OutputItems = root.GetProperty("output").GetRawText(),
            InputTokens = usage.Int64OrZero("input_tokens"),
            OutputTokens = usage.Int64OrZero("output_tokens"),
            Body = System.Text.Encoding.UTF8.GetString(answered),
        };
    }

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning,
        Message = "Stored responses: response {ResponseId} was answered but not kept: tenant {TenantId} keeps {StoredBytes} bytes of responses, past responses.maxTenantBytes ({MaxTenantBytes})")]
    private partial void LogOverTenantBytes(string responseId, string tenantId, long storedBytes, long maxTenantBytes);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Stored responses: response {ResponseId} was answered but could not be kept")]
    private partial void LogNotKept(string responseId, Exception exception);
}
