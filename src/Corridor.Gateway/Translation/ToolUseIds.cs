namespace Corridor.Gateway.Translation;

/// <summary>The ids of tool calls as an Anthropic client or upstream needs them.</summary>
internal static class ToolUseIds
{
    /// <summary>
    /// The id of the tool call at <paramref name="index"/> of an OpenAI-kind answer, for an Anthropic client. Anthropic
    /// requires one (the SDKs refuse a <c>tool_use</c> block without it) and the client must send it back in its
    /// <c>tool_result</c>; some OpenAI-compatible servers send none, or an empty one. Such a call gets
    /// <c>toolu_</c>, the answer's id and its index: unique in the conversation, and within OpenAI's 40 characters, as
    /// the id goes back to the upstream in the next turn.
    /// </summary>
    public static string ForAnswer(string? id, string responseId, int index) =>
        string.IsNullOrEmpty(id) ? $"toolu_{(responseId.Length > 24 ? responseId[^24..] : responseId)}_{index}" : id;
}
