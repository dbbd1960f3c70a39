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

    /// <summary>
    /// Keeps the request's answer when it is a Responses answer to be stored that ended <c>completed</c> or
    /// <c>incomplete</c> (<see cref="ResponsesContext.Answered"/>); completes at once otherwise. Never throws: an answer the
    /// store would not take is still the client's, and the failure is logged.
    /// </summary>
    public Task KeepAsync(CorridorRequestFeature call)
    {
        if (call.Responses is not { Store: true, Answered: { } answered } responses || call.Caller is not { } caller || call.Outcome != Core.Metering.RequestOutcome.Success)
        {
            return Task.CompletedTask;
        }
        return Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(KeepTimeout, time);
                await store.AddResponseAsync(Stored(responses, answered, caller.Tenant.Id, caller.Key.Id), timeout.Token);
            }
            catch (Exception e)
            {
                // The store away or slow past the timeout, or refusing: the answer is the client's all the same.
                LogNotKept(responses.ResponseId, e);
            }
        });
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
