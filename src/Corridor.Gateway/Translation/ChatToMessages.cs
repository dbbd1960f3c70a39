using System.Text;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// The client speaks OpenAI chat completions, the upstream is Anthropic Messages. Fields the upstream has no
/// counterpart for are dropped (never passed on); features whose absence would change the answer the client
/// asked for (<c>n</c> &gt; 1, <c>logprobs</c>) are refused.
/// </summary>
internal static class ChatToMessages
{
    private const string JsonObjectInstruction =
        "Respond with a single valid JSON object only, with no text, explanation or code fences before or after it.";

    /// <summary>
    /// Chat request → Anthropic Messages request. <paramref name="structuredOutputs"/>: the upstream takes Anthropic's
    /// structured outputs (<c>output_config.format</c>), which a json_schema <c>response_format</c> becomes.
    /// </summary>
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> chatRequest, string upstreamModel, int defaultMaxTokens, bool structuredOutputs = false)
    {
        var sizeHint = chatRequest.Length;
        return Json.Translate(chatRequest, "request body", root => TranslateRequest(root, upstreamModel, defaultMaxTokens, structuredOutputs, sizeHint));
    }

    private static TranslationResult TranslateRequest(JsonElement root, string upstreamModel, int defaultMaxTokens, bool structuredOutputs, int sizeHint)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return TranslationResult.Fail(new Problem("The request body must be a JSON object."));
        }
        var request = new MessagesRequest { StructuredOutputs = structuredOutputs };
        return ReadRequest(root, defaultMaxTokens, request) is { } problem
            ? TranslationResult.Fail(problem)
            : WriteRequest(request, upstreamModel, sizeHint);
    }

    /// <summary>Anthropic message → <c>chat.completion</c>.</summary>
    public static TranslationResult TranslateResponse(ReadOnlySpan<byte> messagesResponse, string clientModel, string responseId, TimeProvider? timeProvider = null)
    {
        var sizeHint = messagesResponse.Length;
        return Json.Translate(messagesResponse, "upstream response", root => TranslateResponse(root, clientModel, responseId, timeProvider, sizeHint));
    }

    private static TranslationResult TranslateResponse(JsonElement root, string clientModel, string responseId, TimeProvider? timeProvider, int sizeHint)
    {
        // Only a message is an answer: a body of another type (Anthropic's errors, {"type":"error",...}, which proxies may
        // send with a 200) is not, whatever else it holds. One without a type is taken for a message when it has content
        // (Anthropic-compatible servers may leave the type out). A message the model ended without writing anything
        // (end_turn at once, max_tokens spent on thinking) may come without content; it is still an answer, and a chat
        // completion with empty content says the same.
        var hasContent = root.TryGet("content", out var content);
        var type = root.StringOrNull("type");
        if ((type is not null && type != "message") || (hasContent ? content.ValueKind != JsonValueKind.Array : type != "message"))
        {
            return TranslationResult.Fail(new Problem("The upstream response is not an Anthropic message."));
        }

        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        var toolUses = new List<JsonElement>();
        if (hasContent)
        {
            foreach (var block in content.EnumerateArray())
            {
                switch (block.StringOrNull("type"))
                {
                    case "text":
                        text.Append(block.StringOrNull("text"));
                        break;
                    case "thinking":
                        // DeepSeek's reasoning_content, which chat clients (and the Responses translation) read.
                        reasoning.Append(block.StringOrNull("thinking"));
                        break;
                    case "tool_use":
                        toolUses.Add(block);
                        break;
                    default:
                        // redacted_thinking (encrypted, nothing to read) and server-tool blocks have no chat-completions counterpart.
                        break;
                }
            }
        }
        var usage = root.TryGet("usage", out var u) ? default(UsageCounts).WithAnthropic(u) : default;

        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            writer.WriteStartObject();
            writer.WriteString("id", responseId);
            writer.WriteString("object", "chat.completion");
            writer.WriteNumber("created", UnixNow(timeProvider));
            writer.WriteString("model", clientModel);
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("message");
            writer.WriteString("role", "assistant");
            if (text.Length == 0 && toolUses.Count > 0)
            {
                writer.WriteNull("content");
            }
            else
            {
                writer.WriteString("content", text.ToString());
            }
            if (reasoning.Length > 0)
            {
                writer.WriteString("reasoning_content", reasoning.ToString());
            }
            writer.WriteNull("refusal");
            if (toolUses.Count > 0)
            {
                writer.WriteStartArray("tool_calls");
                foreach (var toolUse in toolUses)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", toolUse.StringOrNull("id"));
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", toolUse.StringOrNull("name"));
                    writer.WriteString("arguments", toolUse.TryGet("input", out var input) ? ToolArguments.FromInput(input) : "{}");
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
            writer.WriteNull("logprobs");
            writer.WriteString("finish_reason", StopReasons.ToFinishReason(root.StringOrNull("stop_reason")));
            writer.WriteEndObject();
            writer.WriteEndArray();
            usage.WriteOpenAI(writer);
            writer.WriteEndObject();
            return Json.Finish(writer, buffer);
        }
    }

    /// <summary>Anthropic events → <c>chat.completion.chunk</c> events and <c>data: [DONE]</c>.</summary>
    public static IStreamTranslator CreateStreamTranslator(string clientModel, string responseId, bool includeUsage, TimeProvider? timeProvider = null) =>
        new ChatToMessagesStreamTranslator(clientModel, responseId, includeUsage, UnixNow(timeProvider));

    private static long UnixNow(TimeProvider? timeProvider) => (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();

    private static Problem? ReadRequest(JsonElement root, int defaultMaxTokens, MessagesRequest request)
    {
        if (ReadRefusedFeatures(root) is { } refused)
        {
            return refused;
        }
        if (ReadMessages(root, request) is { } messagesProblem)
        {
            return messagesProblem;
        }
        if (ReadTools(root, request) is { } toolsProblem)
        {
            return toolsProblem;
        }
        if (ReadSampling(root, defaultMaxTokens, request) is { } samplingProblem)
        {
            return samplingProblem;
        }
        if (ReadThinking(root, request) is { } thinkingProblem)
        {
            return thinkingProblem;
        }
        return ReadResponseFormat(root, request);
    }

    /// <summary>Anthropic returns one choice and no log probabilities; answering with less than was asked would mislead the client.</summary>
    private static Problem? ReadRefusedFeatures(JsonElement root)
    {
        if (root.OptionalInteger("n", "n", out var n) is { } nProblem)
        {
            return nProblem;
        }
        if (n > 1)
        {
            return new Problem("'n' greater than 1 is not supported for this model: its upstream returns a single choice per request.", "n");
        }
        if (root.OptionalBool("logprobs", "logprobs", out var logprobs) is { } logprobsProblem)
        {
            return logprobsProblem;
        }
        if (logprobs == true)
        {
            return new Problem("'logprobs' is not supported for this model: its upstream does not return token log probabilities.", "logprobs");
        }
        return null;
    }

    private static Problem? ReadMessages(JsonElement root, MessagesRequest request)
    {
        if (!root.TryGet("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return Problem.WrongType("messages", "an array of messages");
        }
        if (messages.GetArrayLength() == 0)
        {
            return new Problem("'messages' must contain at least one message.", "messages");
        }
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (ReadMessage(message, $"messages[{index}]", request) is { } problem)
            {
                return problem;
            }
            index++;
        }
        return null;
    }

    private static Problem? ReadMessage(JsonElement message, string param, MessagesRequest request)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an object");
        }
        if (message.RequiredString("role", $"{param}.role", out var role) is { } roleProblem)
        {
            return roleProblem;
        }
        var hasContent = message.TryGet("content", out var content);
        var contentParam = $"{param}.content";
        switch (role)
        {
            case "system":
            case "developer":
                // Anthropic has one top-level system prompt: every system message, wherever it stands, joins it.
                return hasContent ? MessageContent.ReadTexts(content, contentParam, "part", request.System) : null;
            case "user":
            {
                if (!hasContent)
                {
                    return Problem.Missing(contentParam);
                }
                var blocks = new List<Block>();
                var problem = ReadUserContent(content, contentParam, blocks);
                request.AddTurn("user", blocks);
                return problem;
            }
            case "assistant":
            {
                var texts = new List<string>();
                var blocks = new List<Block>();
                if (hasContent && MessageContent.ReadTexts(content, contentParam, "part", texts, acceptRefusal: true) is { } textProblem)
                {
                    return textProblem;
                }
                blocks.AddRange(texts.Select(text => new TextBlock(text)));
                var problem = ReadToolCalls(message, param, blocks);
                request.AddTurn("assistant", blocks);
                return problem;
            }
            case "tool":
            {
                if (message.RequiredString("tool_call_id", $"{param}.tool_call_id", out var callId) is { } idProblem)
                {
                    return idProblem;
                }
                var texts = new List<string>();
                var isString = hasContent && content.ValueKind == JsonValueKind.String;
                if (hasContent && MessageContent.ReadTexts(content, contentParam, "part", texts) is { } textProblem)
                {
                    return textProblem;
                }
                // Anthropic takes tool results as blocks of the next user turn; consecutive tool messages merge there.
                request.AddTurn("user", [new ToolResultBlock(ToolUseIds.Sanitize(callId), texts, isString)]);
                return null;
            }
            case "function":
                return new Problem("The deprecated 'function' role is not supported for this model; send tool results as 'tool' messages.", $"{param}.role");
            default:
                return Problem.WrongType($"{param}.role", "one of 'system', 'developer', 'user', 'assistant' or 'tool'");
        }
    }

    private static Problem? ReadUserContent(JsonElement content, string param, List<Block> blocks)
    {
        if (MessageContent.Read(content, param, "part", out var text, out var parts) is { } problem)
        {
            return problem;
        }
        if (text is not null)
        {
            blocks.Add(new TextBlock(text));
            return null;
        }
        foreach (var part in parts)
        {
            switch (part.Type)
            {
                case "text":
                    if (part.Element.RequiredString("text", $"{part.Param}.text", out var partText) is { } textProblem)
                    {
                        return textProblem;
                    }
                    blocks.Add(new TextBlock(partText));
                    break;
                case "image_url":
                    if (ReadImagePart(part.Element, $"{part.Param}.image_url", out var image) is { } imageProblem)
                    {
                        return imageProblem;
                    }
                    blocks.Add(new ImageBlock(image));
                    break;
                case "file":
                    if (Documents.FromChatFile(part.Element, $"{part.Param}.file", out var document) is { } fileProblem)
                    {
                        return fileProblem;
                    }
                    blocks.Add(new DocumentBlock(document));
                    break;
                default:
                    return Problem.Unsupported($"{part.Param}.type", $"Content part type '{part.Type}'");
            }
        }
        return null;
    }

    private static Problem? ReadImagePart(JsonElement part, string param, out ImageRef image)
    {
        image = default;
        if (!part.TryGet("image_url", out var imageUrl))
        {
            return Problem.Missing(param);
        }
        // The documented shape is {"url": …}; a bare string is accepted too.
        var url = imageUrl.ValueKind == JsonValueKind.String ? imageUrl.GetString() : imageUrl.StringOrNull("url");
        return url is null ? Problem.WrongType($"{param}.url", "a string") : ImageRef.FromUrl(url, $"{param}.url", out image);
    }

    private static Problem? ReadToolCalls(JsonElement message, string param, List<Block> blocks)
    {
        if (!message.TryGet("tool_calls", out var toolCalls))
        {
            return null;
        }
        if (toolCalls.ValueKind != JsonValueKind.Array)
        {
            return Problem.WrongType($"{param}.tool_calls", "an array");
        }
        var index = 0;
        foreach (var call in toolCalls.EnumerateArray())
        {
            var callParam = $"{param}.tool_calls[{index}]";
            if (call.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType(callParam, "an object");
            }
            if (call.OptionalString("type", $"{callParam}.type", out var type) is { } typeProblem)
            {
                return typeProblem;
            }
            if (type is not (null or "function"))
            {
                return Problem.Unsupported($"{callParam}.type", $"Tool call type '{type}'");
            }
            if (call.RequiredString("id", $"{callParam}.id", out var id) is { } idProblem)
            {
                return idProblem;
            }
            if (!call.TryGet("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType($"{callParam}.function", "an object");
            }
            if (function.RequiredString("name", $"{callParam}.function.name", out var name) is { } nameProblem)
            {
                return nameProblem;
            }
            if (function.OptionalString("arguments", $"{callParam}.function.arguments", out var arguments) is { } argsProblem)
            {
                return argsProblem;
            }
            // OpenAI takes back whatever arguments its model wrote, JSON or not; Anthropic's input must be an object, and
            // its documentation wraps invalid input as the answers to Anthropic clients do (ToolArguments.ToInputJson).
            ToolArguments.ToInputJson(arguments, out var input);
            blocks.Add(new ToolUseBlock(ToolUseIds.Sanitize(id), name, input));
            index++;
        }
        return null;
    }

    private static Problem? ReadTools(JsonElement root, MessagesRequest request)
    {
        if (root.TryGet("tools", out var tools))
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return Problem.WrongType("tools", "an array");
            }
            var index = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                var param = $"tools[{index}]";
                if (tool.ValueKind != JsonValueKind.Object || tool.RequiredString("type", $"{param}.type", out var type) is not null)
                {
                    return Problem.WrongType(param, "a tool object with a 'type'");
                }
                if (type != "function")
                {
                    return Problem.Unsupported($"{param}.type", $"Tool type '{type}'");
                }
                if (!tool.TryGet("function", out var function) || function.ValueKind != JsonValueKind.Object)
                {
                    return Problem.WrongType($"{param}.function", "an object");
                }
                if (function.RequiredString("name", $"{param}.function.name", out var name) is { } nameProblem)
                {
                    return nameProblem;
                }
                if (function.OptionalString("description", $"{param}.function.description", out var description) is { } descriptionProblem)
                {
                    return descriptionProblem;
                }
                JsonElement? parameters = null;
                if (function.TryGet("parameters", out var schema))
                {
                    if (schema.ValueKind != JsonValueKind.Object)
                    {
                        return Problem.WrongType($"{param}.function.parameters", "a JSON schema object");
                    }
                    parameters = schema;
                }
                request.Tools.Add(new ToolDefinition(name, description, parameters));
                index++;
            }
        }

        if (root.TryGet("tool_choice", out var choice))
        {
            if (choice.ValueKind == JsonValueKind.String)
            {
                request.ToolChoice = choice.GetString() switch
                {
                    "auto" => "auto",
                    "required" => "any",
                    "none" => "none",
                    _ => null,
                };
                if (request.ToolChoice is null)
                {
                    return Problem.WrongType("tool_choice", "'auto', 'required', 'none' or a function choice");
                }
            }
            else if (choice.ValueKind == JsonValueKind.Object && choice.StringOrNull("type") == "function"
                && choice.TryGet("function", out var function) && function.StringOrNull("name") is { } name)
            {
                request.ToolChoice = "tool";
                request.ToolChoiceName = name;
            }
            else
            {
                return Problem.WrongType("tool_choice", "'auto', 'required', 'none' or {\"type\": \"function\", \"function\": {\"name\": …}}");
            }
        }
        if (root.OptionalBool("parallel_tool_calls", "parallel_tool_calls", out var parallel) is { } parallelProblem)
        {
            return parallelProblem;
        }
        request.DisableParallelToolUse = parallel == false;
        return null;
    }

    private static Problem? ReadSampling(JsonElement root, int defaultMaxTokens, MessagesRequest request)
    {
        // Anthropic requires max_tokens; max_completion_tokens is OpenAI's current name, max_tokens the deprecated one.
        if (root.OptionalInteger("max_completion_tokens", "max_completion_tokens", out var maxCompletion) is { } p1)
        {
            return p1;
        }
        if (root.OptionalInteger("max_tokens", "max_tokens", out var maxTokens) is { } p2)
        {
            return p2;
        }
        request.MaxTokens = maxCompletion ?? maxTokens ?? defaultMaxTokens;
        if (request.MaxTokens < 1)
        {
            return new Problem($"'{(maxCompletion is null ? "max_tokens" : "max_completion_tokens")}' must be at least 1.",
                maxCompletion is null ? "max_tokens" : "max_completion_tokens");
        }
        if (root.OptionalNumber("temperature", "temperature", out var temperature) is { } p3)
        {
            return p3;
        }
        // OpenAI allows 0–2, Anthropic 0–1: values above 1 ask for more randomness than the upstream offers, so they get its most.
        request.Temperature = temperature is { } t ? Math.Min(t, 1.0) : null;
        if (root.OptionalNumber("top_p", "top_p", out var topP) is { } p4)
        {
            return p4;
        }
        // top_p 1 samples from the whole distribution, as leaving it out does. OpenAI clients send it as a default beside
        // temperature, and Anthropic's newer models refuse the two together, so the neutral value is not sent.
        request.TopP = topP is 1.0 ? null : topP;
        if (root.TryGet("stop", out var stop))
        {
            // Anthropic refuses stop sequences that are only whitespace ("\n" is a common OpenAI one): those are left out.
            if (stop.ValueKind == JsonValueKind.String)
            {
                if (stop.GetString() is { } one && !string.IsNullOrWhiteSpace(one))
                {
                    request.Stop.Add(one);
                }
            }
            else if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            {
                request.Stop.AddRange(stop.EnumerateArray().Select(s => s.GetString()!).Where(s => !string.IsNullOrWhiteSpace(s)));
            }
            else
            {
                return Problem.WrongType("stop", "a string or an array of strings");
            }
        }
        if (root.OptionalString("user", "user", out var user) is { } p5)
        {
            return p5;
        }
        if (root.OptionalString("safety_identifier", "safety_identifier", out var safetyIdentifier) is { } p6)
        {
            return p6;
        }
        request.User = user ?? safetyIdentifier;
        if (root.OptionalBool("stream", "stream", out var stream) is { } p7)
        {
            return p7;
        }
        request.Stream = stream == true;
        return null;
    }

    /// <summary>
    /// Anthropic's <c>thinking</c>, from the client's own <c>thinking</c> object (sent as it is) or from
    /// <c>reasoning_effort</c>: a budget of 20, 50, 80 or 95 % of <c>max_tokens</c> for <c>low</c>, <c>medium</c>,
    /// <c>high</c> and <c>xhigh</c> (as OpenRouter shares it), at least Anthropic's least (1024) and at most 32000,
    /// and always below <c>max_tokens</c>, which Anthropic requires and which is not raised (it is what the request
    /// reserved, or the policy's cap). <c>none</c> and <c>minimal</c>, as the front door reads them, ask for none.
    /// </summary>
    private static Problem? ReadThinking(JsonElement root, MessagesRequest request)
    {
        if (root.TryGet("thinking", out var thinking) && thinking.ValueKind != JsonValueKind.Null)
        {
            if (thinking.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType("thinking", "an object");
            }
            request.Thinking = thinking;
        }
        if (root.OptionalString("reasoning_effort", "reasoning_effort", out var effort) is { } effortProblem)
        {
            return effortProblem;
        }
        double? share = effort switch
        {
            null or "none" or "minimal" => null,
            "low" => 0.2,
            "medium" => 0.5,
            "high" => 0.8,
            "xhigh" => 0.95,
            _ => double.NaN,
        };
        if (share is double.NaN)
        {
            return Problem.WrongType("reasoning_effort", "one of 'none', 'minimal', 'low', 'medium', 'high' or 'xhigh' for this model");
        }
        if (request.Thinking is null && share is { } part && request.MaxTokens > MinThinkingBudget)
        {
            request.ThinkingBudget = Math.Min(Math.Clamp((long)(request.MaxTokens * part), MinThinkingBudget, MaxThinkingBudget), request.MaxTokens - 1);
        }
        // With thinking on, Anthropic wants the last assistant turn of a tool loop to begin with its signed thinking block
        // ("a final assistant message must start with a thinking block"), which a chat history cannot carry; its error
        // says to turn thinking off instead, so the loop's next step is asked without it.
        if (request.Turns.Count > 0 && request.Turns[^1] is { Role: "user" } last && last.Blocks.Exists(block => block is ToolResultBlock))
        {
            request.Thinking = null;
            request.ThinkingBudget = null;
        }
        return null;
    }

    /// <summary>Anthropic's least <c>budget_tokens</c>.</summary>
    private const long MinThinkingBudget = 1024;

    /// <summary>The most <c>reasoning_effort</c> asks for: past it Anthropic advises batches, and OpenRouter stops there too.</summary>
    private const long MaxThinkingBudget = 32000;

    /// <summary>
    /// The Messages API has no JSON mode, so a JSON response format becomes a system instruction. That makes
    /// JSON very likely but does not enforce it the way OpenAI's constrained decoding does. A JSON schema, to an upstream
    /// that takes Anthropic's structured outputs, is <c>output_config.format</c> instead: constrained decoding, as OpenAI's.
    /// </summary>
    private static Problem? ReadResponseFormat(JsonElement root, MessagesRequest request)
    {
        if (!root.TryGet("response_format", out var format))
        {
            return null;
        }
        if (format.ValueKind != JsonValueKind.Object || format.RequiredString("type", "response_format.type", out var type) is not null)
        {
            return Problem.WrongType("response_format", "an object with a 'type'");
        }
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                request.System.Add(JsonObjectInstruction);
                return null;
            case "json_schema":
                if (!format.TryGet("json_schema", out var jsonSchema) || !jsonSchema.TryGet("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return Problem.WrongType("response_format.json_schema.schema", "a JSON schema object");
                }
                if (request.StructuredOutputs)
                {
                    request.OutputSchema = schema;
                    return null;
                }
                request.System.Add($"{JsonObjectInstruction} The object must conform to this JSON schema: {Json.ToCompactString(schema)}");
                return null;
            default:
                return Problem.WrongType("response_format.type", "'text', 'json_object' or 'json_schema'");
        }
    }

    private static TranslationResult WriteRequest(MessagesRequest request, string upstreamModel, int sizeHint)
    {
        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            writer.WriteStartObject();
            writer.WriteString("model", upstreamModel);
            writer.WriteNumber("max_tokens", request.MaxTokens);
            var system = string.Join("\n\n", request.System.Where(text => text.Length > 0));
            // OpenAI's API answers a conversation of system (or developer) messages alone, following them; Anthropic's
            // refuses one without a message. Such a conversation goes as one user turn holding the system text.
            var systemAlone = request.Turns.Count == 0 && system.Length > 0;
            if (system.Length > 0 && !systemAlone)
            {
                writer.WriteString("system", system);
            }
            writer.WriteStartArray("messages");
            if (systemAlone)
            {
                writer.WriteStartObject();
                writer.WriteString("role", "user");
                writer.WriteString("content", system);
                writer.WriteEndObject();
            }
            foreach (var turn in request.Turns)
            {
                WriteTurn(writer, turn);
            }
            writer.WriteEndArray();
            if (request.Tools.Count > 0)
            {
                WriteTools(writer, request);
            }
            if (request.Thinking is { } thinking)
            {
                writer.WritePropertyName("thinking");
                thinking.WriteTo(writer);
            }
            else if (request.ThinkingBudget is { } budget)
            {
                writer.WriteStartObject("thinking");
                writer.WriteString("type", "enabled");
                writer.WriteNumber("budget_tokens", budget);
                writer.WriteEndObject();
            }
            if (request.OutputSchema is { } outputSchema)
            {
                writer.WriteStartObject("output_config");
                writer.WriteStartObject("format");
                writer.WriteString("type", "json_schema");
                writer.WritePropertyName("schema");
                outputSchema.WriteTo(writer);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            if (request.Temperature is { } temperature)
            {
                writer.WriteNumber("temperature", temperature);
            }
            if (request.TopP is { } topP)
            {
                writer.WriteNumber("top_p", topP);
            }
            if (request.Stop.Count > 0)
            {
                writer.WriteStartArray("stop_sequences");
                request.Stop.ForEach(writer.WriteStringValue);
                writer.WriteEndArray();
            }
            if (request.User is { } user)
            {
                writer.WriteStartObject("metadata");
                writer.WriteString("user_id", user);
                writer.WriteEndObject();
            }
            if (request.Stream)
            {
                writer.WriteBoolean("stream", true);
            }
            writer.WriteEndObject();
            return Json.Finish(writer, buffer);
        }
    }

    private static void WriteTurn(Utf8JsonWriter writer, Turn turn)
    {
        writer.WriteStartObject();
        writer.WriteString("role", turn.Role);
        if (turn.Blocks is [TextBlock single])
        {
            writer.WriteString("content", single.Text);
        }
        else
        {
            writer.WriteStartArray("content");
            // Anthropic wants a user turn's tool results before anything else in it.
            foreach (var block in turn.Blocks.Where(b => b is ToolResultBlock))
            {
                block.Write(writer);
            }
            foreach (var block in turn.Blocks.Where(b => b is not ToolResultBlock))
            {
                block.Write(writer);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter writer, MessagesRequest request)
    {
        writer.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            writer.WriteStartObject();
            writer.WriteString("name", tool.Name);
            if (tool.Description is { } description)
            {
                writer.WriteString("description", description);
            }
            writer.WritePropertyName("input_schema");
            if (tool.Parameters is { } parameters)
            {
                parameters.WriteTo(writer);
            }
            else
            {
                // OpenAI lets a parameterless function omit its schema; Anthropic requires one.
                writer.WriteRawValue("""{"type":"object","properties":{}}""", skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        // tool_choice is only written alongside tools: both vendors reject it without them.
        if (request.ToolChoice is null && !request.DisableParallelToolUse)
        {
            return;
        }
        var choice = request.ToolChoice ?? "auto";
        writer.WriteStartObject("tool_choice");
        writer.WriteString("type", choice);
        if (request.ToolChoiceName is { } name)
        {
            writer.WriteString("name", name);
        }
        if (request.DisableParallelToolUse && choice != "none")
        {
            writer.WriteBoolean("disable_parallel_tool_use", true);
        }
        writer.WriteEndObject();
    }

    private sealed class MessagesRequest
    {
        public List<string> System { get; } = [];
        public List<Turn> Turns { get; } = [];
        public List<ToolDefinition> Tools { get; } = [];
        public string? ToolChoice { get; set; }
        public string? ToolChoiceName { get; set; }
        public bool DisableParallelToolUse { get; set; }
        public long MaxTokens { get; set; }
        public double? Temperature { get; set; }
        public double? TopP { get; set; }
        public List<string> Stop { get; } = [];
        public string? User { get; set; }
        public bool Stream { get; set; }
        /// <summary>The client's own Anthropic <c>thinking</c> object, sent as it is.</summary>
        public JsonElement? Thinking { get; set; }
        /// <summary>The thinking budget <c>reasoning_effort</c> asks for.</summary>
        public long? ThinkingBudget { get; set; }
        /// <summary>Whether the upstream takes Anthropic's structured outputs (<c>output_config.format</c>).</summary>
        public bool StructuredOutputs { get; init; }
        /// <summary>The json_schema <c>response_format</c>'s schema, sent as <c>output_config.format</c>.</summary>
        public JsonElement? OutputSchema { get; set; }

        /// <summary>Anthropic wants user and assistant turns to alternate: consecutive same-role messages merge into one turn.</summary>
        public void AddTurn(string role, List<Block> blocks)
        {
            // Anthropic rejects text blocks that are empty or only whitespace (OpenAI assistants often send "" or "\n\n" next
            // to tool calls).
            blocks.RemoveAll(block => block is TextBlock text && string.IsNullOrWhiteSpace(text.Text));
            if (blocks.Count == 0)
            {
                return;
            }
            if (Turns.Count > 0 && Turns[^1].Role == role)
            {
                Turns[^1].Blocks.AddRange(blocks);
                return;
            }
            Turns.Add(new Turn(role, blocks));
        }
    }

    private sealed record Turn(string Role, List<Block> Blocks);

    private sealed record ToolDefinition(string Name, string? Description, JsonElement? Parameters);

    /// <summary>One Anthropic content block, read from the chat request and written when the turns are complete.</summary>
    private abstract record Block
    {
        public abstract void Write(Utf8JsonWriter writer);
    }

    private sealed record TextBlock(string Text) : Block
    {
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", Text);
            writer.WriteEndObject();
        }
    }

    private sealed record ImageBlock(ImageRef Image) : Block
    {
        public override void Write(Utf8JsonWriter writer) => Image.WriteAnthropicBlock(writer);
    }

    private sealed record DocumentBlock(Document Document) : Block
    {
        public override void Write(Utf8JsonWriter writer) => Document.WriteAnthropicBlock(writer);
    }

    private sealed record ToolUseBlock(string Id, string Name, string InputJson) : Block
    {
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "tool_use");
            writer.WriteString("id", Id);
            writer.WriteString("name", Name);
            ToolArguments.WriteInput(writer, InputJson);
            writer.WriteEndObject();
        }
    }

    /// <summary>A tool message's content: a string stays a string, text parts become text blocks.</summary>
    private sealed record ToolResultBlock(string ToolUseId, List<string> Texts, bool IsString) : Block
    {
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "tool_result");
            writer.WriteString("tool_use_id", ToolUseId);
            // Anthropic rejects text that is empty or only whitespace, here as in messages: such a result has no content.
            if (IsString && !string.IsNullOrWhiteSpace(Texts[0]))
            {
                writer.WriteString("content", Texts[0]);
            }
            else if (!IsString && Texts.Exists(text => !string.IsNullOrWhiteSpace(text)))
            {
                writer.WriteStartArray("content");
                foreach (var text in Texts.Where(text => !string.IsNullOrWhiteSpace(text)))
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", "text");
                    writer.WriteString("text", text);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
    }
}
