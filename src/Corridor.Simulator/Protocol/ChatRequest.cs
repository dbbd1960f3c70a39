using Corridor.Simulator.Generation;

namespace Corridor.Simulator.Protocol;

internal enum ToolChoiceMode
{
    Auto,
    None,
    Required,
    Named,
}

internal enum ResponseFormatKind
{
    Text,
    JsonObject,
    JsonSchema,
}

/// <summary>Who spoke last: decides whether the answer is a tool call or text.</summary>
internal enum LastTurn
{
    User,
    ToolResult,
    Other,
}

internal sealed record ToolDefinition(string Name, SchemaNode? Parameters);

/// <summary>A problem with a request, answered 400 in its dialect.</summary>
internal readonly record struct RequestProblem(string Message, string? Param);

/// <summary>What the simulator needs from an OpenAI chat completion or an Anthropic message request.</summary>
internal sealed class ChatRequest
{
    public string? Model { get; set; }

    public bool Stream { get; set; }

    public bool IncludeUsage { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>
    /// The <c>service_tier</c> asked for: OpenAI serves <c>flex</c> and <c>priority</c> as asked and says which in its answer;
    /// anything else is its <c>default</c>.
    /// </summary>
    public string? ServiceTier { get; set; }

    /// <summary>Anthropic's <c>inference_geo</c>: where the inference runs (<c>global</c> when not given), said in the answer's usage.</summary>
    public string? InferenceGeo { get; set; }

    /// <summary>Anthropic's <c>thinking</c> is <c>enabled</c> (or <c>adaptive</c>): the answer begins with a thinking block.</summary>
    public bool Thinking { get; set; }

    /// <summary>
    /// <c>thinking</c> is <c>disabled</c>: on the OpenAI endpoints a reasoning model answers without reasoning, as DeepSeek's
    /// does with its thinking mode switched off (on by default), and wants no reasoning back.
    /// </summary>
    public bool ThinkingDisabled { get; set; }

    /// <summary>Anthropic's <c>thinking</c> was <c>{"type":"adaptive"}</c>, which has no <see cref="ThinkingBudget"/>.</summary>
    public bool ThinkingAdaptive { get; set; }

    /// <summary>Its <c>budget_tokens</c>, which Anthropic checks.</summary>
    public int? ThinkingBudget { get; set; }

    public int N { get; set; } = 1;

    public bool Logprobs { get; set; }

    public int? TopLogprobs { get; set; }

    public ResponseFormatKind ResponseFormat { get; set; }

    public SchemaNode? ResponseSchema { get; set; }

    public List<ToolDefinition> Tools { get; } = [];

    /// <summary>Anthropic's web search server tool (<c>web_search_…</c>) was offered: the answer used it this many times.</summary>
    public int WebSearches { get; set; }

    /// <summary>Anthropic's web fetch server tool (<c>web_fetch_…</c>) was offered: the answer used it this many times.</summary>
    public int WebFetches { get; set; }

    public ToolChoiceMode ToolChoice { get; set; }

    public string? ToolChoiceName { get; set; }

    public int MessageCount { get; private set; }

    public LastTurn LastTurn { get; private set; } = LastTurn.Other;

    /// <summary>An assistant message of the history made tool calls without its reasoning (<c>reasoning_content</c>) beside them.</summary>
    public bool CallWithoutReasoning { get; private set; }

    /// <summary>An assistant message of the history carries its reasoning as text.</summary>
    public bool ReasoningPassedBack { get; private set; }

    /// <summary>Hash of the text of the last user message: with model and seed, it decides the answer.</summary>
    public ulong LastUserTextHash { get; private set; }

    /// <summary>About characters / 4 of all message text, plus a few per message (as chat templates add).</summary>
    public int PromptTokens { get; private set; } = PrimingTokens;

    private const int PrimingTokens = 3;
    private const int TokensPerMessage = 4;

    private PromptUnit? _system;
    private readonly List<PromptUnit> _messages = [];

    public void AddMessage(in MessageText message)
    {
        MessageCount++;
        var tokens = UnitTokens(message.Characters);
        PromptTokens += tokens;
        _messages.Add(new PromptUnit(message.Hash, tokens, message.CacheMark));
        CallWithoutReasoning |= message.Role == MessageRole.Assistant && message.HasToolCalls && !message.HasReasoning;
        ReasoningPassedBack |= message.Role == MessageRole.Assistant && message.HasReasoning;
        LastTurn = message.Role switch
        {
            MessageRole.Tool => LastTurn.ToolResult,
            MessageRole.User when message.HasToolResult => LastTurn.ToolResult,
            MessageRole.User => LastTurn.User,
            _ => LastTurn.Other,
        };
        if (message.Role == MessageRole.User)
        {
            LastUserTextHash = message.Hash;
        }
    }

    /// <summary>Text that counts as prompt without being a conversation turn (Anthropic's <c>system</c>).</summary>
    public void AddSystemText(in MessageText system)
    {
        var tokens = UnitTokens(system.Characters);
        PromptTokens += tokens;
        _system = new PromptUnit(system.Hash, tokens, system.CacheMark);
    }

    private static int UnitTokens(int characters) => TokensPerMessage + (characters + 3) / 4;

    /// <summary>
    /// The prompt's prefixes in the order the model reads it (the system text, then each message), each as a hash of all it
    /// holds, its tokens, and whether it ends at a block marked <c>cache_control</c>: where a vendor's prompt cache can end.
    /// </summary>
    public IEnumerable<PromptPrefix> Prefixes()
    {
        var hash = Hashing.Seed;
        var tokens = PrimingTokens;
        foreach (var unit in _system is { } system ? _messages.Prepend(system) : _messages)
        {
            hash = Hashing.Combine(hash, unit.Hash);
            tokens += unit.Tokens;
            yield return new PromptPrefix(hash, tokens, unit.CacheMark);
        }
    }

    private readonly record struct PromptUnit(ulong Hash, int Tokens, CacheMark CacheMark);
}

/// <summary>The prompt up to the end of one system text or message (<see cref="ChatRequest.Prefixes"/>).</summary>
internal readonly record struct PromptPrefix(ulong Hash, int Tokens, CacheMark CacheMark);

/// <summary>Anthropic's <c>cache_control</c> on a block: none, the default five-minute cache, or the one-hour cache (<c>"ttl": "1h"</c>).</summary>
internal enum CacheMark : byte
{
    None,
    FiveMinutes,
    OneHour,
}

internal enum MessageRole
{
    Other,
    System,
    User,
    Assistant,
    Tool,
}

/// <summary>What was read from one message: its role, how much text it holds, and a hash of that text.</summary>
internal struct MessageText
{
    public MessageRole Role;
    public bool HasToolResult;

    /// <summary>An OpenAI assistant message's <c>tool_calls</c> hold a call.</summary>
    public bool HasToolCalls;

    /// <summary>An OpenAI assistant message carries its reasoning as text (<c>reasoning_content</c>, or vLLM's <c>reasoning</c>).</summary>
    public bool HasReasoning;
    public int Characters;
    public ulong Hash;

    /// <summary>A block of it carries Anthropic's <c>cache_control</c>: a cache breakpoint (the longest-lived one, if several).</summary>
    public CacheMark CacheMark;
}
