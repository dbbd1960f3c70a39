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
}

internal static class OperationPaths
{
    public static string Endpoint(this Operation operation) => operation switch
    {
        Operation.ChatCompletions => "/v1/chat/completions",
        Operation.Messages => "/v1/messages",
        Operation.Embeddings => "/v1/embeddings",
        _ => "/v1/models",
    };
}
