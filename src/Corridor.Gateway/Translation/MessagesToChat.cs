using System.Text;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// The client speaks Anthropic Messages, the upstream is OpenAI-kind (OpenAI, Azure OpenAI, DeepSeek, local
/// servers). Fields the upstream has no counterpart for (<c>top_k</c>, <c>cache_control</c>, …; <c>thinking</c>, but for
/// DeepSeek's switch) are dropped; content it cannot take (documents by URL or file id, citations, server tools, images
/// and documents inside tool results) is refused. The model's reasoning (DeepSeek's <c>reasoning_content</c>) reaches the
/// client in a block Corridor signs or seals
/// (<see cref="ReasoningSeal"/>), and comes back from it as the assistant message's <c>reasoning_content</c>.
/// </summary>
internal static class MessagesToChat
{
    /// <summary>
    /// Anthropic request → chat request. With <paramref name="seal"/>, the reasoning of a thinking or redacted thinking
    /// block Corridor made with that key becomes its assistant message's <c>reasoning_content</c> (without, for an upstream
    /// that takes none back, it is left out as every other such block is).
    /// <paramref name="thinkingSwitch"/>: the upstream turns its thinking on and off by a <c>thinking</c> object of Anthropic's
    /// shape (DeepSeek's thinking mode, <see cref="Forwarding.UpstreamTarget.TakesThinkingSwitch"/>), so the client's own
    /// switch goes to it; otherwise <c>thinking</c> has no counterpart and is dropped.
    /// </summary>
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> messagesRequest, string upstreamModel, ReasoningSeal? seal = null, bool thinkingSwitch = false,
        bool thinkingOff = false)
    {
        var sizeHint = messagesRequest.Length;
        return Json.Translate(messagesRequest, "request body", root => TranslateRequest(root, upstreamModel, seal, thinkingSwitch, thinkingOff, sizeHint));
    }

    private static TranslationResult TranslateRequest(JsonElement root, string upstreamModel, ReasoningSeal? seal, bool thinkingSwitch, bool thinkingOff, int sizeHint)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return TranslationResult.Fail(new Problem("The request body must be a JSON object."));
        }
        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            writer.WriteStartObject();
            writer.WriteString("model", upstreamModel);
            var problem = WriteMessages(root, seal, writer) ?? WriteTools(root, writer) ?? WriteSampling(root, writer) ?? WriteOutputFormat(root, writer);
            if (thinkingSwitch)
            {
                WriteThinkingSwitch(root, writer, thinkingOff);
            }
            if (problem is { } p)
            {
                return TranslationResult.Fail(p);
            }
            writer.WriteEndObject();
            return Json.Finish(writer, buffer);
        }
    }

    /// <summary>
    /// <c>chat.completion</c> → Anthropic message (the first choice; the request never asks for more). With
    /// <paramref name="reasoning"/>, the model's reasoning comes first, in a block its client sends back in a tool loop.
    /// </summary>
    public static TranslationResult TranslateResponse(ReadOnlySpan<byte> chatResponse, string clientModel, string responseId, ReasoningBlocks? reasoning = null)
    {
        var sizeHint = chatResponse.Length;
        return Json.Translate(chatResponse, "upstream response", root => TranslateResponse(root, clientModel, responseId, reasoning, sizeHint));
    }

    private static TranslationResult TranslateResponse(JsonElement root, string clientModel, string responseId, ReasoningBlocks? reasoning, int sizeHint)
    {
        if (!root.TryGet("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || !choices[0].TryGet("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return TranslationResult.Fail(new Problem("The upstream response is not a chat completion."));
        }
        var choice = choices[0];
        if (StopReasons.IsInterrupted(choice.StringOrNull("finish_reason")))
        {
            return TranslationResult.Interrupted(StopReasons.InterruptedMessage, StopReasons.InterruptedCode);
        }
        var text = MessageContent.AnswerText(message);
        var usage = root.TryGet("usage", out var u) ? UsageCounts.FromOpenAI(u) : default;

        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            writer.WriteStartObject();
            writer.WriteString("id", responseId);
            writer.WriteString("type", "message");
            writer.WriteString("role", "assistant");
            writer.WriteString("model", clientModel);
            writer.WriteStartArray("content");
            if (reasoning is { } blocks && MessageContent.ReasoningText(message) is { } reasoningText)
            {
                blocks.WriteBlock(writer, reasoningText);
            }
            if (!string.IsNullOrEmpty(text))
            {
                writer.WriteStartObject();
                writer.WriteString("type", "text");
                writer.WriteString("text", text);
                writer.WriteEndObject();
            }
            string? anomaly = null;
            if (message.TryGet("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var call in toolCalls.EnumerateArray())
                {
                    var function = call.TryGet("function", out var f) ? f : default;
                    if (!ToolArguments.ToInputJson(function.StringOrNull("arguments"), out var input))
                    {
                        anomaly = ToolArguments.NotJsonCode;
                    }
                    writer.WriteStartObject();
                    writer.WriteString("type", "tool_use");
                    writer.WriteString("id", ToolUseIds.ForAnswer(call.StringOrNull("id"), responseId, index++));
                    writer.WriteString("name", function.StringOrNull("name"));
                    ToolArguments.WriteInput(writer, input);
                    writer.WriteEndObject();
                }
            }
            writer.WriteEndArray();
            var calledTools = message.TryGet("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0;
            writer.WriteString("stop_reason", StopReasons.ToStopReason(choice.StringOrNull("finish_reason"), calledTools));
            writer.WriteNull("stop_sequence");
            usage.WriteAnthropic(writer);
            writer.WriteEndObject();
            return Json.Finish(writer, buffer, anomaly);
        }
    }

    /// <summary>
    /// Chat chunks → <c>message_start</c> … <c>message_stop</c> with <c>event:</c> lines. <paramref name="estimatedInputTokens"/>
    /// is what <c>message_start</c> says of the prompt when the upstream's first chunk does not count it.
    /// </summary>
    public static IStreamTranslator CreateStreamTranslator(string clientModel, string responseId, long estimatedInputTokens = 0, ReasoningBlocks? reasoning = null) =>
        new MessagesToChatStreamTranslator(clientModel, responseId, estimatedInputTokens, reasoning);

    private static Problem? WriteMessages(JsonElement root, ReasoningSeal? seal, Utf8JsonWriter writer)
    {
        if (!root.TryGet("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return Problem.WrongType("messages", "an array of messages");
        }
        if (messages.GetArrayLength() == 0)
        {
            return new Problem("'messages' must contain at least one message.", "messages");
        }
        writer.WriteStartArray("messages");
        if (WriteSystem(root, writer) is { } systemProblem)
        {
            return systemProblem;
        }
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var param = $"messages[{index}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType(param, "an object");
            }
            if (message.RequiredString("role", $"{param}.role", out var role) is { } roleProblem)
            {
                return roleProblem;
            }
            if (!message.TryGet("content", out var content))
            {
                return Problem.Missing($"{param}.content");
            }
            var problem = role switch
            {
                "user" => WriteUserMessage(content, $"{param}.content", writer),
                "assistant" => WriteAssistantMessage(content, $"{param}.content", seal, writer),
                _ => Problem.WrongType($"{param}.role", "'user' or 'assistant'"),
            };
            if (problem is not null)
            {
                return problem;
            }
            index++;
        }
        writer.WriteEndArray();
        return null;
    }

    /// <summary>The top-level system prompt (a string or text blocks) becomes one leading system message.</summary>
    private static Problem? WriteSystem(JsonElement root, Utf8JsonWriter writer)
    {
        if (!root.TryGet("system", out var system))
        {
            return null;
        }
        var texts = new List<string>();
        if (MessageContent.ReadTexts(system, "system", "block", texts) is { } problem)
        {
            return problem;
        }
        var text = string.Join("\n\n", texts);
        if (text.Length > 0)
        {
            WriteTextMessage(writer, "system", text);
        }
        return null;
    }

    /// <summary>
    /// A user turn becomes one <c>tool</c> message per <c>tool_result</c> block (first: they answer the
    /// preceding assistant's calls) and then one user message with the remaining text and images.
    /// </summary>
    private static Problem? WriteUserMessage(JsonElement content, string param, Utf8JsonWriter writer)
    {
        var shapeProblem = WriteStringOrReadBlocks(content, param, "user", writer, out var blocks);
        if (shapeProblem is not null || blocks is null)
        {
            return shapeProblem;
        }
        var parts = new List<ChatPart>();
        foreach (var block in blocks)
        {
            Problem? problem = null;
            switch (block.Type)
            {
                case "text" or "image":
                    problem = ChatPart.FromAnthropicBlock(block, out var part);
                    parts.Add(part);
                    break;
                case "document":
                    problem = Documents.FromAnthropicBlock(block.Element, block.Param, parts);
                    break;
                case "tool_result":
                    problem = WriteToolMessage(block.Element, block.Param, writer);
                    break;
                default:
                    problem = Problem.Unsupported($"{block.Param}.type", $"Content block type '{block.Type}'");
                    break;
            }
            if (problem is not null)
            {
                return problem;
            }
        }
        if (parts is [{ Text: { } single }])
        {
            WriteTextMessage(writer, "user", single);
        }
        else if (parts.Count > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("role", "user");
            writer.WriteStartArray("content");
            foreach (var part in parts)
            {
                part.Write(writer);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return null;
    }

    /// <summary>
    /// A <c>tool_result</c> block → a <c>tool</c> message with string content (what every OpenAI-kind server
    /// takes). OpenAI has no error flag on tool results, so <c>is_error</c> is said in the content.
    /// </summary>
    private static Problem? WriteToolMessage(JsonElement block, string param, Utf8JsonWriter writer)
    {
        if (block.RequiredString("tool_use_id", $"{param}.tool_use_id", out var toolUseId) is { } idProblem)
        {
            return idProblem;
        }
        var texts = new List<string>();
        if (block.TryGet("content", out var content) && MessageContent.ReadTexts(content, $"{param}.content", "block", texts) is { } contentProblem)
        {
            return contentProblem;
        }
        if (block.OptionalBool("is_error", $"{param}.is_error", out var isError) is { } errorProblem)
        {
            return errorProblem;
        }
        var text = string.Join("\n\n", texts);
        writer.WriteStartObject();
        writer.WriteString("role", "tool");
        writer.WriteString("tool_call_id", toolUseId);
        writer.WriteString("content", isError == true ? $"Error: {text}" : text);
        writer.WriteEndObject();
        return null;
    }

    /// <summary>
    /// An assistant turn → one assistant message: text blocks joined, <c>tool_use</c> blocks as <c>tool_calls</c>, and the
    /// reasoning of the thinking blocks Corridor made with <paramref name="seal"/>'s key joined as <c>reasoning_content</c>.
    /// </summary>
    private static Problem? WriteAssistantMessage(JsonElement content, string param, ReasoningSeal? seal, Utf8JsonWriter writer)
    {
        var shapeProblem = WriteStringOrReadBlocks(content, param, "assistant", writer, out var blocks);
        if (shapeProblem is not null || blocks is null)
        {
            return shapeProblem;
        }
        var text = new StringBuilder();
        StringBuilder? reasoning = null;
        var toolUses = new List<(string Id, string Name, string Arguments)>();
        foreach (var block in blocks)
        {
            switch (block.Type)
            {
                case "text":
                    if (block.Element.RequiredString("text", $"{block.Param}.text", out var part) is { } textProblem)
                    {
                        return textProblem;
                    }
                    text.Append(part);
                    break;
                case "tool_use":
                    if (block.Element.RequiredString("id", $"{block.Param}.id", out var id) is { } p1)
                    {
                        return p1;
                    }
                    if (block.Element.RequiredString("name", $"{block.Param}.name", out var name) is { } p2)
                    {
                        return p2;
                    }
                    if (!block.Element.TryGet("input", out var input) || input.ValueKind != JsonValueKind.Object)
                    {
                        return Problem.WrongType($"{block.Param}.input", "an object");
                    }
                    toolUses.Add((id, name, ToolArguments.FromInput(input)));
                    break;
                case "thinking":
                case "redacted_thinking":
                    // The model's earlier reasoning: Corridor's own goes back as the text it was (DeepSeek wants it within a
                    // tool loop); Anthropic's (a Claude answer's, or one not this key's) has no place in a chat request.
                    if (seal is not null && ReasoningBlocks.Read(block.Element, block.Type, seal) is { } earlier)
                    {
                        (reasoning ??= new StringBuilder()).Append(earlier);
                    }
                    break;
                default:
                    return Problem.Unsupported($"{block.Param}.type", $"Content block type '{block.Type}'");
            }
        }

        WriteAssistantMessage(writer, text.ToString(), toolUses, reasoning?.ToString());
        return null;
    }

    /// <summary>
    /// An assistant message of a chat history: its text, its tool calls (id, name, arguments) when it made any (an answer
    /// that only called tools has <c>null</c> content, as OpenAI writes it) and, when given, the model's reasoning as text
    /// (<c>reasoning_content</c>, which DeepSeek wants back beside a tool loop's calls). Also used for a Responses client's history.
    /// </summary>
    internal static void WriteAssistantMessage(Utf8JsonWriter writer, string text, IReadOnlyList<(string Id, string Name, string Arguments)> toolCalls,
        string? reasoning = null)
    {
        writer.WriteStartObject();
        writer.WriteString("role", "assistant");
        if (text.Length == 0 && toolCalls.Count > 0)
        {
            writer.WriteNull("content");
        }
        else
        {
            writer.WriteString("content", text);
        }
        if (reasoning is not null)
        {
            writer.WriteString("reasoning_content", reasoning);
        }
        if (toolCalls.Count > 0)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var (id, name, arguments) in toolCalls)
            {
                writer.WriteStartObject();
                writer.WriteString("id", id);
                writer.WriteString("type", "function");
                writer.WriteStartObject("function");
                writer.WriteString("name", name);
                writer.WriteString("arguments", arguments);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static Problem? WriteTools(JsonElement root, Utf8JsonWriter writer)
    {
        var toolCount = 0;
        if (root.TryGet("tools", out var tools))
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return Problem.WrongType("tools", "an array");
            }
            toolCount = tools.GetArrayLength();
            if (toolCount > 0)
            {
                writer.WriteStartArray("tools");
            }
            var index = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (WriteTool(tool, $"tools[{index}]", writer) is { } problem)
                {
                    return problem;
                }
                index++;
            }
            if (toolCount > 0)
            {
                writer.WriteEndArray();
            }
        }

        if (!root.TryGet("tool_choice", out var choice))
        {
            return null;
        }
        if (choice.ValueKind != JsonValueKind.Object || choice.RequiredString("type", "tool_choice.type", out var type) is not null)
        {
            return Problem.WrongType("tool_choice", "an object with a 'type'");
        }
        if (choice.OptionalBool("disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use", out var disableParallel) is { } parallelProblem)
        {
            return parallelProblem;
        }
        string? name = null;
        if (type == "tool" && choice.RequiredString("name", "tool_choice.name", out name) is { } nameProblem)
        {
            return nameProblem;
        }
        if (type is not ("auto" or "any" or "tool" or "none"))
        {
            return Problem.WrongType("tool_choice.type", "'auto', 'any', 'tool' or 'none'");
        }
        // Both vendors reject tool_choice without tools.
        if (toolCount == 0)
        {
            return null;
        }
        switch (type)
        {
            case "auto":
                writer.WriteString("tool_choice", "auto");
                break;
            case "any":
                writer.WriteString("tool_choice", "required");
                break;
            case "none":
                writer.WriteString("tool_choice", "none");
                break;
            default:
                writer.WriteStartObject("tool_choice");
                writer.WriteString("type", "function");
                writer.WriteStartObject("function");
                writer.WriteString("name", name);
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
        }
        if (disableParallel == true)
        {
            writer.WriteBoolean("parallel_tool_calls", false);
        }
        return null;
    }

    private static Problem? WriteTool(JsonElement tool, string param, Utf8JsonWriter writer)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an object");
        }
        if (tool.OptionalString("type", $"{param}.type", out var type) is { } typeProblem)
        {
            return typeProblem;
        }
        // Anthropic's server tools (web search, code execution, …) run at Anthropic; an OpenAI-kind upstream cannot run them.
        if (type is not (null or "custom"))
        {
            return Problem.Unsupported($"{param}.type", $"Tool type '{type}'");
        }
        if (tool.RequiredString("name", $"{param}.name", out var name) is { } nameProblem)
        {
            return nameProblem;
        }
        if (tool.OptionalString("description", $"{param}.description", out var description) is { } descriptionProblem)
        {
            return descriptionProblem;
        }
        if (!tool.TryGet("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType($"{param}.input_schema", "a JSON schema object");
        }
        writer.WriteStartObject();
        writer.WriteString("type", "function");
        writer.WriteStartObject("function");
        writer.WriteString("name", name);
        if (description is not null)
        {
            writer.WriteString("description", description);
        }
        writer.WritePropertyName("parameters");
        schema.WriteTo(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
        return null;
    }

    /// <summary>
    /// The client's <c>thinking</c> as the switch DeepSeek reads: <c>disabled</c> stays so (its thinking mode is on by
    /// default, so an Anthropic client that turns it off would otherwise pay for reasoning it refused), any other type
    /// (<c>enabled</c>, <c>adaptive</c>) is <c>enabled</c>. No <c>thinking</c>: nothing is sent, and the model does as it
    /// does by default, as at DeepSeek's own Anthropic endpoint, unless <paramref name="thinkingOff"/> (the thinking the client
    /// asked for was stripped): <c>disabled</c>. The front door has checked its shape (RequestParser).
    /// </summary>
    private static void WriteThinkingSwitch(JsonElement root, Utf8JsonWriter writer, bool thinkingOff)
    {
        string? type = null;
        if (root.TryGet("thinking", out var thinking) && thinking.ValueKind == JsonValueKind.Object)
        {
            type = thinking.StringOrNull("type");
        }
        if (type is null && !thinkingOff)
        {
            return;
        }
        writer.WriteStartObject("thinking");
        writer.WriteString("type", type is null or "disabled" ? "disabled" : "enabled");
        writer.WriteEndObject();
    }

    /// <summary>
    /// Structured outputs: <c>output_config.format</c> (or the beta's top-level <c>output_format</c>), a JSON schema the answer
    /// must follow, is OpenAI's <c>response_format</c> of type <c>json_schema</c>, strict, since Anthropic constrains the answer
    /// to the schema and a client reads it as such (the SDKs' <c>parse</c>): dropped, the model would answer in free text. An
    /// upstream that takes no such format, or not this schema, refuses it, and its 400 reaches the client.
    /// <c>output_config.effort</c> has no counterpart a chat model of every kind reads, and is dropped.
    /// </summary>
    private static Problem? WriteOutputFormat(JsonElement root, Utf8JsonWriter writer)
    {
        var param = "output_format";
        var format = root.TryGet("output_format", out var legacy) ? legacy : default;
        if (root.TryGet("output_config", out var config) && config.ValueKind != JsonValueKind.Null)
        {
            if (config.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType("output_config", "an object");
            }
            if (config.TryGet("format", out var configured) && configured.ValueKind != JsonValueKind.Null)
            {
                (format, param) = (configured, "output_config.format");
            }
        }
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }
        if (format.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an object");
        }
        if (format.StringOrNull("type") != "json_schema")
        {
            return Problem.WrongType($"{param}.type", "'json_schema'");
        }
        if (!format.TryGet("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType($"{param}.schema", "a JSON schema object");
        }
        writer.WriteStartObject("response_format");
        writer.WriteString("type", "json_schema");
        writer.WriteStartObject("json_schema");
        writer.WriteString("name", "output");
        writer.WriteBoolean("strict", true);
        writer.WritePropertyName("schema");
        schema.WriteTo(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
        return null;
    }

    private static Problem? WriteSampling(JsonElement root, Utf8JsonWriter writer)
    {
        if (root.OptionalInteger("max_tokens", "max_tokens", out var maxTokens) is { } p1)
        {
            return p1;
        }
        if (maxTokens is { } max)
        {
            // max_completion_tokens is OpenAI's current name; reasoning models reject max_tokens, while servers
            // that predate the new name ignore it (an unbounded answer beats a rejected request).
            writer.WriteNumber("max_completion_tokens", max);
        }
        if (root.OptionalNumber("temperature", "temperature", out var temperature) is { } p2)
        {
            return p2;
        }
        if (temperature is { } t)
        {
            writer.WriteNumber("temperature", t);
        }
        if (root.OptionalNumber("top_p", "top_p", out var topP) is { } p3)
        {
            return p3;
        }
        if (topP is { } p)
        {
            writer.WriteNumber("top_p", p);
        }
        if (root.TryGet("stop_sequences", out var stop))
        {
            if (stop.ValueKind != JsonValueKind.Array || !stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            {
                return Problem.WrongType("stop_sequences", "an array of strings");
            }
            if (stop.GetArrayLength() > 0)
            {
                writer.WritePropertyName("stop");
                stop.WriteTo(writer);
            }
        }
        if (root.TryGet("metadata", out var metadata))
        {
            if (metadata.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType("metadata", "an object");
            }
            if (metadata.OptionalString("user_id", "metadata.user_id", out var userId) is { } p4)
            {
                return p4;
            }
            if (userId is not null)
            {
                writer.WriteString("user", userId);
            }
        }
        if (root.OptionalBool("stream", "stream", out var stream) is { } p5)
        {
            return p5;
        }
        if (stream == true)
        {
            writer.WriteBoolean("stream", true);
            // Without it an OpenAI stream carries no usage, and the gateway meters from usage.
            writer.WriteStartObject("stream_options");
            writer.WriteBoolean("include_usage", true);
            writer.WriteEndObject();
        }
        return null;
    }

    /// <summary>String content is written as a plain message (<paramref name="blocks"/> null); otherwise the blocks are returned for the caller.</summary>
    private static Problem? WriteStringOrReadBlocks(JsonElement content, string param, string role, Utf8JsonWriter writer, out List<ContentPart>? blocks)
    {
        blocks = null;
        if (MessageContent.Read(content, param, "block", out var text, out var parts) is { } problem)
        {
            return problem;
        }
        if (text is not null)
        {
            WriteTextMessage(writer, role, text);
            return null;
        }
        blocks = parts;
        return null;
    }

    private static void WriteTextMessage(Utf8JsonWriter writer, string role, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", text);
        writer.WriteEndObject();
    }
}
