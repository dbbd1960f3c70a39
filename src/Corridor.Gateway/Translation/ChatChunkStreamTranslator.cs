using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// What the translators of an OpenAI-kind upstream's <c>chat.completion.chunk</c> events share, whatever the client's
/// dialect: an error chunk ends the stream, a usage chunk updates the counts, the first chunk starts the client's
/// stream, each chunk's first choice is translated (the translated request never asks for more), and the answer ends at
/// <c>[DONE]</c>, or at the end of the stream once a finish reason came (some servers omit <c>[DONE]</c> after it).
/// </summary>
internal abstract class ChatChunkStreamTranslator : StreamTranslator
{
    protected sealed override void OnEvent(string? eventName, JsonElement root, IBufferWriter<byte> output)
    {
        if (StreamErrors.IsOpenAIError(root))
        {
            FailWithUpstreamError(root, output);
            return;
        }
        if (root.TryGet("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            OnUsage(usage);
        }
        EnsureStarted(output);
        if (!root.TryGet("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.Int64OrZero("index") == 0)
            {
                OnChoice(choice, output);
            }
        }
    }

    protected sealed override void OnDone(IBufferWriter<byte> output) => Finish(output);

    protected sealed override void OnEndedEarly(IBufferWriter<byte> output)
    {
        if (FinishSeen)
        {
            Finish(output);
        }
    }

    /// <summary>
    /// The chat index of a tool-call delta; <paramref name="known"/> is how many calls the stream has begun. Some
    /// OpenAI-compatible servers omit the index of a lone call: a new id then means a new call, none the last one.
    /// </summary>
    protected static int ToolCallIndex(JsonElement call, string? id, int known) =>
        call.TryGetInt32("index", out var given) ? given : id is not null ? known : Math.Max(0, known - 1);

    /// <summary>Whether a chunk has given the answer's finish reason.</summary>
    protected abstract bool FinishSeen { get; }

    /// <summary>Reads the upstream's <c>usage</c> object.</summary>
    protected abstract void OnUsage(JsonElement usage);

    /// <summary>Writes the client's opening events, once.</summary>
    protected abstract void EnsureStarted(IBufferWriter<byte> output);

    /// <summary>Translates a chunk's first choice: its delta and its finish reason.</summary>
    protected abstract void OnChoice(JsonElement choice, IBufferWriter<byte> output);

    /// <summary>Writes the client's closing events: the answer is complete.</summary>
    protected abstract void Finish(IBufferWriter<byte> output);
}
