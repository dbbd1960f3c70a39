namespace Corridor.Monitor.Features;

/// <summary>
/// What the gateway knows about a finished request besides its body: who sent it, when, from where, and what it cost
/// in tokens. Filled from the request's typed feature; nothing here is read from the body.
/// </summary>
public readonly struct RequestMetadata
{
    /// <summary>When the request arrived: the monitor's clock (event time).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    public required string TenantId { get; init; }

    public required string KeyId { get; init; }

    public string? Model { get; init; }

    public string? Endpoint { get; init; }

    /// <summary>The client's address as the gateway saw it (IPv4 or IPv6 text).</summary>
    public string? SourceAddress { get; init; }

    public string? UserAgent { get; init; }

    /// <summary>The HTTP status returned to the client.</summary>
    public int Status { get; init; }

    public int InputTokens { get; init; }

    /// <summary>Billed output tokens, hidden reasoning included.</summary>
    public int OutputTokens { get; init; }

    /// <summary>Reasoning tokens reported by the upstream (included in <see cref="OutputTokens"/>); hidden unless <see cref="ReasoningReturned"/>.</summary>
    public int ReasoningTokens { get; init; }

    /// <summary>
    /// The reasoning came back to the client as text (DeepSeek's <c>reasoning_content</c>, Anthropic's thinking blocks).
    /// A traffic log v1 line does not say, so replay leaves it false.
    /// </summary>
    public bool ReasoningReturned { get; init; }

    /// <summary>
    /// The batch Corridor ran the request for (docs/batches.md), or null for a client's live request. A batch request's
    /// <see cref="Timestamp"/> is when the batch runner ran it, not when the client sent anything: the monitor counts its
    /// content, tokens and sampling like a live request's, and leaves it out of every timing signal (see <see cref="RequestTraits.Batch"/>).
    /// </summary>
    public string? BatchId { get; init; }
}
