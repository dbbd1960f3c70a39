using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Corridor.Core.Policy;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Applies a Decision's restrictions to the request before it is forwarded: caps <c>max_tokens</c> and
/// <c>max_completion_tokens</c> (adding <c>max_tokens</c> when the client sent neither), lowers <c>n</c>, and removes
/// <c>logprobs</c>/<c>top_logprobs</c> and <c>reasoning_effort</c>/<c>thinking</c> (a <c>thinking</c> that turns it off, or an effort of
/// <c>none</c> or <c>minimal</c>, kept; and the thinking switches of
/// <c>chat_template_kwargs</c>, keeping its other arguments; where the upstream takes the thinking switch, it is then
/// turned off, <see cref="ClientRequest.TurnsThinkingOff"/>). Only restricted requests pay for the rewrite. Serves policy restrictions and the
/// monitor's <c>throttle</c> alike.
/// The body's top-level properties are copied as the client wrote them, except those restricted: nothing else is
/// parsed or re-encoded, so any body the front door accepted (however deep, whatever its other names) can be rewritten.
/// </summary>
internal static class RequestRestrictions
{
    public static ClientRequest Apply(ClientRequest request, Restrictions restrictions, Operation operation)
    {
        // Embeddings and token counts have no output to cap, no choices and no logprobs: a max_tokens added to one would be
        // refused upstream, and what restrictions change is not the prompt a count counts.
        if (restrictions.IsNone || operation is Operation.Embeddings or Operation.CountTokens)
        {
            return request;
        }
        var body = request.Body.Span;
        var output = new ArrayBufferWriter<byte>(body.Length + 32);
        var cap = restrictions.MaxTokens is { } max && (request.MaxTokens is null || request.MaxTokens > max) ? max : (int?)null;
        var n = restrictions.N is { } fewer && request.N > fewer ? fewer : (int?)null;
        var capped = false;
        var thinkingKept = false;
        var first = true;
        Span<byte> unescaped = stackalloc byte[RequestParser.MaxEscapedName];

        // The front door has accepted this body: one object, within the depth limit, its names valid text.
        var properties = new ObjectProperties(body, unescaped);
        output.Write("{"u8);
        while (properties.MoveNext())
        {
            var field = RequestParser.FieldOf(properties.Name);
            var valueReader = properties.Value;
            var property = body[properties.Start..properties.End];
            var replacement = field switch
            {
                RequestParser.Field.MaxTokens or RequestParser.Field.MaxCompletionTokens when cap is not null => cap,
                RequestParser.Field.N when n is not null => n,
                _ => null,
            };
            if ((restrictions.StripLogprobs && field is RequestParser.Field.Logprobs or RequestParser.Field.TopLogprobs)
                || (restrictions.StripReasoning && ((field == RequestParser.Field.ReasoningEffort && AsksToReason(valueReader))
                    || (field == RequestParser.Field.Thinking && AsksToThink(valueReader)))))
            {
                continue;
            }
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            thinkingKept |= field == RequestParser.Field.Thinking;
            if (restrictions.StripReasoning && field == RequestParser.Field.ChatTemplateKwargs && valueReader.TokenType == JsonTokenType.StartObject)
            {
                output.Write(property[..(properties.ValueStart - properties.Start)]);
                WriteWithoutThinking(output, body[properties.ValueStart..properties.End]);
            }
            else if (replacement is { } value)
            {
                output.Write(property[..(properties.ValueStart - properties.Start)]);
                WriteNumber(output, value);
                capped |= field is RequestParser.Field.MaxTokens or RequestParser.Field.MaxCompletionTokens;
            }
            else
            {
                output.Write(property);
            }
        }
        if (cap is { } added && !capped)
        {
            output.Write(first ? "\"max_tokens\":"u8 : ",\"max_tokens\":"u8);
            WriteNumber(output, added);
        }
        output.Write("}"u8);

        var buffer = ArrayPool<byte>.Shared.Rent(output.WrittenCount);
        output.WrittenSpan.CopyTo(buffer);
        // The client's own request stays with the rewritten one (and is returned to the pool with it): the monitor observes what was asked.
        // Thinking turned off by an earlier rewrite (the throttle's, before a policy's) stays off.
        var restricted = new ClientRequest(buffer, output.WrittenCount) { RewrittenFrom = request, TurnsThinkingOff = (restrictions.StripReasoning || request.TurnsThinkingOff) && !thinkingKept };
        var reparsed = RequestParser.Parse(restricted, operation);
        Debug.Assert(reparsed is null, "A restricted body the front door accepted is accepted again.");
        return restricted;
    }

    /// <summary>
    /// Whether a <c>reasoning_effort</c> value asks to reason. <c>none</c> and <c>minimal</c> stay when reasoning is stripped:
    /// without them an OpenAI reasoning model reasons at its default effort.
    /// </summary>
    private static bool AsksToReason(Utf8JsonReader value) =>
        value.TokenType != JsonTokenType.String || RequestParser.EffortAsksToReason(in value);

    /// <summary>
    /// Whether a <c>thinking</c> value asks to think. One that switches thinking off stays when reasoning is stripped, as in
    /// <c>chat_template_kwargs</c>: an upstream that reads it as its switch (DeepSeek) thinks by default without it.
    /// </summary>
    private static bool AsksToThink(Utf8JsonReader value) =>
        value.TokenType != JsonTokenType.StartObject || RequestParser.ReadThinking(value, out var asks) is not null || asks;

    /// <summary>
    /// Copies a <c>chat_template_kwargs</c> object without the switches that turn thinking on, each other argument as
    /// written. A switch that turns it off stays: without it, a model that thinks by default (Qwen3) would.
    /// </summary>
    private static void WriteWithoutThinking(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> kwargs)
    {
        Span<byte> unescaped = stackalloc byte[RequestParser.MaxEscapedName];
        var properties = new ObjectProperties(kwargs, unescaped);
        output.Write("{"u8);
        var first = true;
        while (properties.MoveNext())
        {
            if (RequestParser.ThinkingSwitchOf(properties.Name) != 0 && RequestParser.AsksToThink(properties.Value.TokenType))
            {
                continue;
            }
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            output.Write(kwargs[properties.Start..properties.End]);
        }
        output.Write("}"u8);
    }

    private static void WriteNumber(ArrayBufferWriter<byte> output, int value)
    {
        value.TryFormat(output.GetSpan(11), out var written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
    }
}
