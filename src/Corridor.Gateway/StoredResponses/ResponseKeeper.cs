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

    /// <summary>Responses answered but not kept because the store would not take them (<see cref="KeepAsync"/>): failed or timed out.</summary>
    public long NotKeptStoreFailed => Interlocked.Read(ref _notKeptStoreFailed);

    private long _notKeptStoreFailed;

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
                await store.AddResponseAsync(Stored(responses, answered, caller.Tenant.Id, caller.Key.Id), timeout.Token);
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

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Stored responses: response {ResponseId} was answered but could not be kept")]
    private partial void LogNotKept(string responseId, Exception exception);
}
