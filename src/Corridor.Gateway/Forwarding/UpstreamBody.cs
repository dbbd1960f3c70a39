using System.Buffers;
using System.Text;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Forwarding;

/// <summary>Which way a request crosses dialects on its way to one upstream.</summary>
internal enum TranslationDirection
{
    None,
    ChatToMessages,
    MessagesToChat,
}

/// <summary>Builds the body an upstream receives: the client's own bytes with spliced edits, or a translation.</summary>
internal static class UpstreamBody
{
    private static readonly byte[] IncludeUsageValue = "{\"include_usage\":true}"u8.ToArray();
    private static readonly byte[] IncludeUsageProperty = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();
    private static readonly byte[] ThinkingOffProperty = "\"thinking\":{\"type\":\"disabled\"},"u8.ToArray();

    public static TranslationDirection Direction(Dialect client, Dialect upstream) => (client, upstream) switch
    {
        (Dialect.OpenAI, Dialect.Anthropic) => TranslationDirection.ChatToMessages,
        (Dialect.Anthropic, Dialect.OpenAI) => TranslationDirection.MessagesToChat,
        _ => TranslationDirection.None,
    };

    /// <summary>
    /// The upstream's body. <paramref name="leaveOutReasoning"/>: the request is a Responses or Anthropic client's, whose
    /// reasoning Corridor would give as its assistant messages' <c>reasoning_content</c>, and the upstream takes none
    /// (<see cref="UpstreamTarget.TakesReasoningContent"/>); an Anthropic-kind one's translation leaves it out anyway.
    /// <paramref name="seal"/> (an Anthropic client's request only): the key that reads the reasoning blocks Corridor gave
    /// the client, which go to an OpenAI-kind upstream as <c>reasoning_content</c> and to an Anthropic one not at all.
    /// <paramref name="thinkingSwitch"/>: the upstream reads an Anthropic client's <c>thinking</c> as its own switch
    /// (<see cref="UpstreamTarget.TakesThinkingSwitch"/>). <paramref name="structuredOutputs"/>: the (Anthropic-kind) upstream
    /// takes <c>output_config.format</c> (<see cref="Core.Catalog.VendorConfig.StructuredOutputs"/>). <paramref name="terms"/>: the deployment's service tier and
    /// inference geography, in place of any the client sent (<see cref="UpstreamTerms"/>; null: the client's taken out, none put in),
    /// and <paramref name="caller"/>'s tenant as the end user where the vendor is told it, in the field a request of
    /// <paramref name="operation"/> has for it.
    /// </summary>
    public static TranslationResult Create(ClientRequest request, TranslationDirection direction, string upstreamModel, int defaultMaxTokens, bool openAIUpstreamStream,
        bool leaveOutReasoning = false, ReasoningSeal? seal = null, bool thinkingSwitch = false, bool structuredOutputs = false, UpstreamTerms? terms = null,
        AuthenticatedKey? caller = null, Operation operation = Operation.ChatCompletions)
    {
        terms ??= UpstreamTerms.None;
        var result = Translate(request, direction, upstreamModel, defaultMaxTokens, openAIUpstreamStream, leaveOutReasoning, seal, thinkingSwitch, structuredOutputs);
        return result.Error is null && terms.Rewrites(request.SetsTerms)
            ? TranslationResult.Ok(terms.Apply(Bytes(result, request).Span, caller, operation), result.Anomaly)
            : result;
    }

    /// <summary>
    /// The body <paramref name="target"/> is sent for <paramref name="request"/>, a request of <paramref name="operation"/>:
    /// <see cref="Create"/> with every choice that is the target's own (its model's name, its dialect's stream usage, whether
    /// it takes reasoning back, its thinking switch, structured outputs and terms). The forwarder's and shadow evaluation's one
    /// way to build it.
    /// </summary>
    public static TranslationResult For(ClientRequest request, TranslationDirection direction, UpstreamTarget target, int defaultMaxTokens,
        Operation operation, ReasoningSeal? seal, AuthenticatedKey? caller) =>
        Create(request, direction, target.Deployment.UpstreamModel, defaultMaxTokens,
            openAIUpstreamStream: request.Stream && target.Dialect == Dialect.OpenAI,
            leaveOutReasoning: LeavesOutReasoning(operation, target), seal: seal is null ? null : SealFor(operation, seal),
            thinkingSwitch: target.TakesThinkingSwitch, structuredOutputs: target.Deployment.Vendor.StructuredOutputs, terms: target.Terms,
            caller: caller, operation: operation);

    private static TranslationResult Translate(ClientRequest request, TranslationDirection direction, string upstreamModel, int defaultMaxTokens, bool openAIUpstreamStream,
        bool leaveOutReasoning, ReasoningSeal? seal, bool thinkingSwitch, bool structuredOutputs)
    {
        var thinkingOff = thinkingSwitch && request.TurnsThinkingOff;
        return direction switch
        {
            TranslationDirection.ChatToMessages => ChatToMessages.TranslateRequest(request.Body.Span, upstreamModel, defaultMaxTokens, structuredOutputs),
            TranslationDirection.MessagesToChat => MessagesToChat.TranslateRequest(request.Body.Span, upstreamModel, leaveOutReasoning ? null : seal, thinkingSwitch, thinkingOff),
            // An Anthropic client's request to an Anthropic upstream: only Corridor's blocks to take out; its body is no chat request.
            _ when seal is not null => ReasoningBlocks.MayCarry(request.Body.Span)
                ? Rewritten(request, upstreamModel, openAIUpstreamStream, false, ReasoningBlocks.WithoutCorridors)
                : Spliced(request, upstreamModel, openAIUpstreamStream, false),
            _ when leaveOutReasoning && ResponsesToChat.CarriesReasoning(request.Body.Span) => Rewritten(request, upstreamModel, openAIUpstreamStream, thinkingOff, ResponsesToChat.WithoutReasoning),
            _ => Spliced(request, upstreamModel, openAIUpstreamStream, thinkingOff),
        };
    }

    /// <summary>Whether a request of <paramref name="operation"/> to <paramref name="target"/> is sent without its messages' reasoning.</summary>
    public static bool LeavesOutReasoning(Operation operation, UpstreamTarget target) =>
        operation is Operation.Responses or Operation.Messages && !target.TakesReasoningContent;

    /// <summary>The key that reads reasoning Corridor gave a client of <paramref name="operation"/>: an Anthropic client's only.</summary>
    public static ReasoningSeal? SealFor(Operation operation, ReasoningSeal seal) => operation == Operation.Messages ? seal : null;

    private static TranslationResult Spliced(ClientRequest request, string upstreamModel, bool openAIUpstreamStream, bool thinkingOff) =>
        new(Splice(request, upstreamModel, openAIUpstreamStream && !request.IncludeUsage, thinkingOff), null);

    private delegate TranslationResult Rewrite(ReadOnlySpan<byte> body);

    /// <summary>The spliced body (or the client's) rewritten by <paramref name="rewrite"/>.</summary>
    private static TranslationResult Rewritten(ClientRequest request, string upstreamModel, bool openAIUpstreamStream, bool thinkingOff, Rewrite rewrite)
    {
        var spliced = Splice(request, upstreamModel, openAIUpstreamStream && !request.IncludeUsage, thinkingOff);
        return rewrite(spliced is null ? request.Body.Span : spliced);
    }

    /// <summary>The bytes the upstream receives: the translation or splice when there is one, else the client's own body.</summary>
    public static ReadOnlyMemory<byte> Bytes(TranslationResult result, ClientRequest request) =>
        result.Body is { } body ? body : request.Body;

    /// <summary>
    /// Renames the model when the upstream knows it by another name and, for OpenAI streams whose client did not ask
    /// for usage, asks for it anyway so the request can be metered (the gateway drops that chunk on the way back);
    /// <paramref name="thinkingOff"/>: adds <c>thinking: disabled</c> (<see cref="ClientRequest.TurnsThinkingOff"/>).
    /// Returns null when the body goes through untouched.
    /// </summary>
    private static byte[]? Splice(ClientRequest request, string upstreamModel, bool forceUsage, bool thinkingOff)
    {
        var renames = !string.Equals(request.Model, upstreamModel, StringComparison.Ordinal);
        if (!renames && !forceUsage && !thinkingOff)
        {
            return null;
        }
        var body = request.Body.Span;
        var output = new ArrayBufferWriter<byte>(body.Length + 64);
        var edits = new List<(int Start, int End, byte[] Replacement)>(2);
        if (renames)
        {
            var (offset, length) = request.ModelValue.GetOffsetAndLength(body.Length);
            edits.Add((offset, offset + length, Encoding.UTF8.GetBytes($"\"{System.Text.Json.JsonEncodedText.Encode(upstreamModel).Value}\"")));
        }
        if (forceUsage)
        {
            if (request.StreamOptionsValue is { } range)
            {
                var (offset, length) = range.GetOffsetAndLength(body.Length);
                edits.Add((offset, offset + length, IncludeUsageValue));
            }
            else
            {
                var open = body.IndexOf((byte)'{') + 1;
                edits.Add((open, open, IncludeUsageProperty));
            }
        }
        if (thinkingOff)
        {
            var open = body.IndexOf((byte)'{') + 1;
            edits.Add((open, open, ThinkingOffProperty));
        }
        // Two insertions after the opening brace may come in either order: each ends with its own comma.
        edits.Sort((a, b) => a.Start.CompareTo(b.Start));
        var position = 0;
        foreach (var (start, end, replacement) in edits)
        {
            output.Write(body[position..start]);
            output.Write(replacement);
            position = end;
        }
        output.Write(body[position..]);
        return output.WrittenSpan.ToArray();
    }
}
