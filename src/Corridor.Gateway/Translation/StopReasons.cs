namespace Corridor.Gateway.Translation;

/// <summary>Anthropic <c>stop_reason</c> ↔ OpenAI <c>finish_reason</c>.</summary>
internal static class StopReasons
{
    /// <summary>Anthropic → OpenAI. <c>end_turn</c>, <c>stop_sequence</c>, <c>pause_turn</c> and unknown values read as a normal stop.</summary>
    public static string ToFinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    /// <summary>The ledger's code for an answer the upstream stopped for want of resources (<see cref="IsInterrupted"/>).</summary>
    public const string InterruptedCode = "upstream_insufficient_resource";

    public const string InterruptedMessage = "The upstream ran out of capacity and stopped the answer before it was complete; retry later.";

    /// <summary>
    /// DeepSeek's <c>insufficient_system_resource</c>: its inference system ran out of resources and cut the answer
    /// short. No Anthropic stop reason says that (each tells the client the answer ended for a reason of its own making or
    /// the model's), so it reaches an Anthropic client as Anthropic says the same: <c>overloaded_error</c>.
    /// </summary>
    public static bool IsInterrupted(string? finishReason) => finishReason == "insufficient_system_resource";

    /// <summary>
    /// OpenAI → Anthropic. OpenAI does not say whether a stop sequence ended the turn, so <c>stop</c>
    /// reads as <c>end_turn</c>, except when the answer called a tool: OpenAI (and servers like vLLM) say <c>stop</c>
    /// for a call the request's <c>tool_choice</c> named, and Anthropic clients run tools only on <c>tool_use</c>.
    /// </summary>
    public static string ToStopReason(string? finishReason, bool calledTools) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ when calledTools => "tool_use",
        _ => "end_turn",
    };
}
