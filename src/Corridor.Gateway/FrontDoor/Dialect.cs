using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>The wire dialect a client or an upstream speaks.</summary>
internal enum Dialect
{
    OpenAI,
    Anthropic,
}

/// <summary>What a request asks for.</summary>
internal enum Operation
{
    ChatCompletions,
    Messages,
    Embeddings,
    Models,

    /// <summary>
    /// OpenAI's Responses API, <c>/v1/responses</c>: read into a chat completion at the front door (the request every later
    /// step sees is the chat one), its answer written in the Responses shape by the forwarder.
    /// </summary>
    Responses,

    /// <summary>Anthropic's <c>/v1/messages/count_tokens</c>: a Messages request's prompt counted, nothing generated.</summary>
    CountTokens,
}

internal static class OperationPaths
{
    public static string Endpoint(this Operation operation) => operation switch
    {
        Operation.ChatCompletions => "/v1/chat/completions",
        Operation.Messages => "/v1/messages",
        Operation.Embeddings => "/v1/embeddings",
        Operation.Responses => "/v1/responses",
        Operation.CountTokens => Core.Metering.LedgerEntry.TokenCountEndpoint,
        _ => "/v1/models",
    };

    private static readonly Operation[] Operations = Enum.GetValues<Operation>();

    /// <summary>The operation served at <paramref name="endpoint"/> (the reverse of <see cref="Endpoint"/>), or null.</summary>
    public static Operation? Served(string endpoint)
    {
        foreach (var operation in Operations)
        {
            if (operation.Endpoint() == endpoint)
            {
                return operation;
            }
        }
        return null;
    }
}

internal static class ClientDialect
{
    /// <summary>
    /// The dialect of a request whose path does not say it (<c>/v1/models</c>, <c>/v1/usage</c>, a path not served): Anthropic's
    /// clients send <c>anthropic-version</c> on every request.
    /// </summary>
    public static Dialect Of(HttpRequest request) => request.Headers.ContainsKey("anthropic-version") ? Dialect.Anthropic : Dialect.OpenAI;
}
