namespace Corridor.Benchmarks;

/// <summary>Realistic wire payloads shared by the benchmarks.</summary>
internal static class Payloads
{
    /// <summary>A typical chat completion request of about 1 KB.</summary>
    public const string ChatRequest = """
        {"model":"gpt-4.1","messages":[{"role":"system","content":"You are a customer-support assistant for Harbourline Logistics. Answer briefly and politely, quote tracking numbers exactly, and never promise delivery dates the system has not confirmed."},{"role":"user","content":"Hi, my shipment HL-2231-8890 was supposed to arrive in Jurong yesterday but the tracking page still says 'in transit'. Can you tell me what is going on?"},{"role":"assistant","content":"I am sorry for the delay. Shipment HL-2231-8890 left the Tuas hub on Tuesday and is now with the last-mile carrier. Would you like me to request an updated delivery window?"},{"role":"user","content":"Yes please, and can you also check whether HL-2231-8891, which was sent on the same day, is on the same truck? I need both for a site inspection on Friday morning."}],"temperature":0.3,"top_p":1,"max_tokens":400,"presence_penalty":0,"frequency_penalty":0,"user":"tenant-bench-user-0042","metadata":{"ticket":"CS-118204","channel":"web"}}
        """;

    /// <summary>The same request, streamed, asking for the usage chunk.</summary>
    public static readonly string StreamingChatRequest = ChatRequest[..^1] + ""","stream":true,"stream_options":{"include_usage":true}}""";

    /// <summary>A typical non-streamed chat.completion answer with usage.</summary>
    public const string Completion = """
        {"id":"chatcmpl-BcnZ7x1fQ2bench0000000000001","object":"chat.completion","created":1750000000,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"I have asked the carrier for an updated window for HL-2231-8890; they will confirm by 6 pm today. HL-2231-8891 is on the same vehicle, so both should arrive together. I will message you as soon as the window is confirmed.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":212,"completion_tokens":54,"total_tokens":266,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b3f1157249"}
        """;

    /// <summary>One content delta of an OpenAI stream (the data of one SSE event).</summary>
    public const string StreamChunk = """
        {"id":"chatcmpl-BcnZ7x1fQ2bench0000000000001","object":"chat.completion.chunk","created":1750000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[{"index":0,"delta":{"content":" carrier"},"logprobs":null,"finish_reason":null}],"usage":null}
        """;

    /// <summary>The last chunk of an OpenAI stream with <c>include_usage</c>: no choices, the usage.</summary>
    public const string UsageChunk = """
        {"id":"chatcmpl-BcnZ7x1fQ2bench0000000000001","object":"chat.completion.chunk","created":1750000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[],"usage":{"prompt_tokens":212,"completion_tokens":54,"total_tokens":266,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}
        """;
}
