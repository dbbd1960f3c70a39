using System.Buffers;

namespace Corridor.Gateway.Translation;

/// <summary>
/// The ids of tool calls as an Anthropic client or upstream needs them. Anthropic's ids match <c>^[a-zA-Z0-9_-]+$</c>
/// and its API refuses a request whose <c>tool_use</c> id or <c>tool_result</c> <c>tool_use_id</c> does not
/// ("String should match pattern"); OpenAI-compatible servers write others (Kimi and Ollama <c>functions.Bash:12</c>).
/// Every other character becomes <c>_</c>, the same way wherever an id meets the Anthropic dialect, so a call and its
/// result keep the same id and an id already valid is unchanged: in answers to Anthropic clients (who may send that
/// history to an Anthropic model next, through an alias's fallback or their own choice) and in requests to Anthropic
/// upstreams (history an OpenAI client got from another model).
/// </summary>
internal static class ToolUseIds
{
    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    /// <summary>
    /// The id of the tool call at <paramref name="index"/> of an OpenAI-kind answer, for an Anthropic client. Anthropic
    /// requires one (the SDKs refuse a <c>tool_use</c> block without it) and the client must send it back in its
    /// <c>tool_result</c>; some OpenAI-compatible servers send none, or an empty one. Such a call gets
    /// <c>toolu_</c>, the answer's id and its index: unique in the conversation, and within OpenAI's 40 characters, as
    /// the id goes back to the upstream in the next turn.
    /// </summary>
    public static string ForAnswer(string? id, string responseId, int index) =>
        Sanitize(string.IsNullOrEmpty(id) ? $"toolu_{(responseId.Length > 24 ? responseId[^24..] : responseId)}_{index}" : id);

    /// <summary>The id with every character Anthropic refuses replaced by <c>_</c>.</summary>
    public static string Sanitize(string id) =>
        id.AsSpan().IndexOfAnyExcept(Allowed) < 0
            ? id
            : string.Create(id.Length, id, static (chars, source) =>
            {
                for (var i = 0; i < chars.Length; i++)
                {
                    chars[i] = Allowed.Contains(source[i]) ? source[i] : '_';
                }
            });
}
