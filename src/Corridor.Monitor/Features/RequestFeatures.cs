namespace Corridor.Monitor.Features;

/// <summary>Sampling and shape flags of one request.</summary>
[Flags]
public enum RequestTraits : ushort
{
    None = 0,

    /// <summary>The request asked for token log-probabilities.</summary>
    Logprobs = 1,

    /// <summary>The request asked for a streamed answer.</summary>
    Stream = 2,

    /// <summary>
    /// The request asked the model to reason through its parameters, as the gateway's front door reads them:
    /// <c>reasoning_effort</c> or Responses' <c>reasoning.effort</c> other than none or minimal, Anthropic's
    /// <c>thinking</c> other than disabled, <c>chat_template_kwargs.enable_thinking</c> (or <c>thinking</c>) other than false or null.
    /// </summary>
    ReasoningRequested = 4,

    /// <summary>The context carries earlier assistant answers (a conversation, not a one-shot prompt).</summary>
    CarriesAnswers = 8,

    /// <summary>The last user turn is a short follow-up to an earlier answer ("why?", "put that in a table").</summary>
    FollowUp = 16,

    /// <summary>The upstream served the request (2xx).</summary>
    Served = 32,

    /// <summary>The body was not a JSON object the monitor could read; only metadata was observed.</summary>
    Unreadable = 64,

    /// <summary>An embeddings request (no generated text to harvest).</summary>
    Embeddings = 128,

    /// <summary>The body was read (its sampling parameters are known).</summary>
    BodyRead = 256,

    /// <summary>
    /// The answer carried the model's reasoning as text the client could read (DeepSeek's <c>reasoning_content</c>, vLLM's
    /// <c>reasoning</c>, Anthropic's thinking blocks), not only a count of hidden reasoning tokens.
    /// </summary>
    ReasoningReturned = 512,

    /// <summary>
    /// Corridor ran the request for a batch (<see cref="RequestMetadata.BatchId"/>): its time is the batch runner's (a few at a
    /// time, as fast as limits allow, round the clock), not the client's pacing, so it is left out of everything timing-based
    /// (inter-arrival gaps, hours of the day covered, cadence bins for clusters) and counted in everything else.
    /// </summary>
    Batch = 1024,
}

/// <summary>
/// Everything the monitor keeps from one request: fixed-size, no references into the request body, cheap to copy
/// into a queue. Produced by <see cref="FeatureExtractor"/>.
/// </summary>
public struct RequestFeatures
{
    public long TimestampMs { get; set; }
    public string TenantId { get; set; }
    public string KeyId { get; set; }
    public string? Model { get; set; }
    public string? UserAgent { get; set; }

    /// <summary>Hash of the source address's network (/24 for IPv4, /48 for IPv6) and of the user agent.</summary>
    public ulong SourceNetworkHash { get; set; }
    public ulong UserAgentHash { get; set; }

    public int Status { get; set; }
    public int InputTokens { get; set; }
    public int OutputTokens { get; set; }
    public int ReasoningTokens { get; set; }

    // Sampling parameters (0 or NaN when the client did not send them).
    public int MaxTokens { get; set; }
    public int N { get; set; }
    public int TopLogprobs { get; set; }
    public float Temperature { get; set; }
    public RequestTraits Flags { get; set; }

    // Conversation shape.
    public int UserTurns { get; set; }
    public int AssistantTurns { get; set; }

    // The last user turn.
    public int PromptBytes { get; set; }
    public int PromptWords { get; set; }
    public ulong ContentHash { get; set; }
    public ulong SkeletonHash { get; set; }
    public ulong HeadHash { get; set; }
    public ulong TailHash { get; set; }
    public MinHashSignature MinHash { get; set; }
    public int ReasoningMarkers { get; set; }
    public int VerbosityMarkers { get; set; }
    public int FormatMarkers { get; set; }

    // The system prompt (system and developer messages, or Anthropic's system field).
    public ulong SystemHash { get; set; }
    public ulong SystemSkeletonHash { get; set; }
    public int SystemReasoningMarkers { get; set; }
    public int SystemVerbosityMarkers { get; set; }

    /// <summary>Output tokens the client could read: billed output less hidden reasoning (all of it when the reasoning was returned).</summary>
    public readonly int VisibleOutputTokens => Has(RequestTraits.ReasoningReturned) ? OutputTokens : Math.Max(0, OutputTokens - Math.Max(0, ReasoningTokens));

    public readonly bool Has(RequestTraits flag) => (Flags & flag) != 0;
}
