using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Buffers;
using Corridor.Simulator.Http;
using Corridor.Simulator.Protocol;

namespace Corridor.Simulator.Generation;

/// <summary>How a dialect names its ids: the answer's (<c>chatcmpl-</c>, <c>msg_</c>) and a tool call's (<c>call_</c>, <c>toolu_</c>).</summary>
internal readonly record struct IdPrefixes(string Answer, string ToolCall);

internal enum FinishReason
{
    Stop,
    Length,
    ToolCall,
}

/// <summary>
/// One answer: text pieces, or a tool call whose argument JSON is streamed in pieces; a reasoning model's text answer
/// (or a tool call, on the OpenAI endpoints) begins with <paramref name="reasoning"/> pieces of reasoning (DeepSeek's
/// <c>reasoning_content</c>, vLLM's <c>reasoning</c>, Anthropic's thinking block).
/// </summary>
internal sealed class ChoicePlan(int index, ulong key, string[] pieces, int count, FinishReason finish, string? toolName, string? toolCallId, int reasoning = 0)
{
    public int Index { get; } = index;

    /// <summary>Deterministic per request and choice; logprobs derive from it.</summary>
    public ulong Key { get; } = key;

    public string[] Pieces { get; } = pieces;

    /// <summary>How many pieces are sent: fewer than generated when max tokens cut the answer.</summary>
    public int Count { get; } = count;

    public FinishReason Finish { get; } = finish;

    public string? ToolName { get; } = toolName;

    public string? ToolCallId { get; } = toolCallId;

    public bool IsToolCall => ToolName is not null;

    /// <summary>How many of the pieces sent are reasoning, before the answer's (all of them when the cap cut the reasoning).</summary>
    public int Reasoning { get; } = Math.Min(reasoning, count);
}

/// <summary>
/// Everything both dialects need to answer a chat request, decided once so the streamed and the
/// whole answer (and their usage) are the same.
/// </summary>
internal sealed class CompletionPlan
{
    private CompletionPlan(ChatRequest request, string model, string id, long created, ChoicePlan[] choices)
    {
        Request = request;
        ReasoningField = ReasoningFieldOf(model);
        Model = model;
        Id = id;
        Created = created;
        Choices = choices;
        foreach (var choice in choices)
        {
            CompletionTokens += choice.Count;
            ReasoningTokens += choice.Reasoning;
        }
    }

    public ChatRequest Request { get; }

    public string Model { get; }

    /// <summary>Where an OpenAI-dialect answer says its reasoning: DeepSeek's <c>reasoning_content</c>, or vLLM's <c>reasoning</c>.</summary>
    public string ReasoningField { get; }

    /// <summary>The answer's id, unique per simulator run (e.g. <c>chatcmpl-…</c>, <c>msg_…</c>).</summary>
    public string Id { get; }

    /// <summary>Unix seconds.</summary>
    public long Created { get; }

    public ChoicePlan[] Choices { get; }

    public int PromptTokens => Request.PromptTokens;

    /// <summary>Of <see cref="PromptTokens"/>, those read from and written to the prompt cache.</summary>
    public CacheUse Cache { get; init; }

    public int CompletionTokens { get; }

    /// <summary>Of <see cref="CompletionTokens"/>, those of reasoning.</summary>
    public int ReasoningTokens { get; }

    public int TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>
    /// Whether <paramref name="model"/> reasons before it answers and says so, as DeepSeek's <c>deepseek-reasoner</c> does
    /// in <c>reasoning_content</c> (on the OpenAI endpoints; an Anthropic request reasons when it enables <c>thinking</c>).
    /// </summary>
    public static bool Reasons(string model) => model.Contains("reasoner", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A reasoning model whose id also names <c>vllm</c> says its reasoning in <c>reasoning</c>, the field vLLM's reasoning
    /// parsers write; any other in DeepSeek's <c>reasoning_content</c>.
    /// </summary>
    private static string ReasoningFieldOf(string model) =>
        model.Contains("vllm", StringComparison.OrdinalIgnoreCase) ? "reasoning" : "reasoning_content";

    /// <summary>
    /// Whether <paramref name="model"/> wants its reasoning back within a tool loop, as DeepSeek's thinking mode does: an
    /// assistant turn with tool calls must carry its <c>reasoning_content</c> in every later request (else a 400).
    /// </summary>
    public static bool WantsReasoningBack(string model) => Reasons(model) && ReasoningFieldOf(model) == "reasoning_content";

    /// <summary>DeepSeek's words when a tool loop's reasoning was not passed back.</summary>
    public const string ReasoningNotPassedBack = "The reasoning_content in the thinking mode must be passed back to the API.";

    /// <summary>
    /// Text is a function of (model, last user message, seed, choice index). A tool call is made when
    /// tools are offered, tool_choice is not "none" and the user spoke last; after a tool result the answer is text.
    /// A text answer of a model that <paramref name="reasons"/> follows its reasoning, and so does a tool call when
    /// <paramref name="callsReason"/> (DeepSeek's thinking mode); the token cap counts both.
    /// </summary>
    public static CompletionPlan Create(ChatRequest request, string model, int seed, long sequence, long created, IdPrefixes prefixes, CacheUse cache = default,
        bool reasons = false, bool callsReason = false)
    {
        var number = sequence.ToString("x12", CultureInfo.InvariantCulture);
        var tool = ChooseTool(request);
        var baseKey = Hashing.Combine(Hashing.Combine(Hashing.Fnv1a(model), request.LastUserTextHash), (ulong)seed);
        var choices = new ChoicePlan[request.N];
        for (var i = 0; i < choices.Length; i++)
        {
            var key = Hashing.Combine(baseKey, (ulong)i);
            var pieces = tool is not null ? TextGenerator.SplitIntoPieces(ToolArguments(tool))
                : request.ResponseFormat != ResponseFormatKind.Text ? TextGenerator.SplitIntoPieces(JsonAnswer(request, model, key))
                : TextGenerator.Generate(key);
            var reasoning = 0;
            if (reasons && (tool is null || callsReason))
            {
                var thought = TextGenerator.Generate(Hashing.Combine(key, ReasoningSalt));
                reasoning = thought.Length;
                pieces = [.. thought, .. pieces];
            }
            var cut = request.MaxTokens is { } max && pieces.Length > max;
            var finish = cut ? FinishReason.Length : tool is not null ? FinishReason.ToolCall : FinishReason.Stop;
            var toolCallId = tool is null ? null : prefixes.ToolCall + number + i.ToString(CultureInfo.InvariantCulture);
            choices[i] = new ChoicePlan(i, key, pieces, cut ? request.MaxTokens!.Value : pieces.Length, finish, tool?.Name, toolCallId, reasoning);
        }

        return new CompletionPlan(request, model, prefixes.Answer + number, created, choices) { Cache = cache };
    }

    /// <summary>Mixed into a choice's key for its reasoning, so the reasoning is not the answer's text.</summary>
    private const ulong ReasoningSalt = 0x7265617330;

    private static ToolDefinition? ChooseTool(ChatRequest request)
    {
        if (request.Tools.Count == 0 || request.ToolChoice == ToolChoiceMode.None || request.LastTurn != LastTurn.User)
        {
            return null;
        }

        return request.ToolChoice == ToolChoiceMode.Named
            ? request.Tools.Find(tool => tool.Name == request.ToolChoiceName)
            : request.Tools[0];
    }

    private static string ToolArguments(ToolDefinition tool) =>
        WriteJson(tool, static (writer, tool) => SchemaNode.WriteObject(writer, tool.Parameters, allWhenNoneRequired: false));

    private static string JsonAnswer(ChatRequest request, string model, ulong key)
    {
        if (request.ResponseFormat == ResponseFormatKind.JsonSchema && request.ResponseSchema is { } schema)
        {
            return WriteJson(schema, static (writer, schema) => SchemaNode.WriteValue(writer, schema, "value", allWhenNoneRequired: true));
        }

        return WriteJson((model, key), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteBoolean("simulated", true);
            writer.WriteString("source", "corridor-simulator");
            writer.WriteString("model", state.model);
            writer.WriteString("answer", string.Concat(TextGenerator.Generate(state.key, 12 + (int)(state.key % 24))).TrimStart());
            writer.WriteEndObject();
        });
    }

    private static string WriteJson<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        using var buffer = new PooledBufferWriter(512);
        using (var writer = new Utf8JsonWriter(buffer, HttpBodies.WriterOptions))
        {
            write(writer, state);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
