using System.Text.Json;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Http;

namespace Corridor.Simulator.Protocol;

/// <summary>How one dialect writes a planned answer, whole or as events; <see cref="ChatStreamer"/> drives the events.</summary>
internal interface IChatFormat
{
    IdPrefixes Ids { get; }

    void WriteWhole(Utf8JsonWriter writer, CompletionPlan plan);

    /// <summary>The events before the first token.</summary>
    void WriteOpening(SseSession session, CompletionPlan plan);

    /// <summary>One event carrying piece <paramref name="piece"/> of <paramref name="choice"/>.</summary>
    void WriteDelta(SseSession session, CompletionPlan plan, ChoicePlan choice, int piece);

    /// <summary>The events after the last token (finish reasons, usage, end marker).</summary>
    void WriteClosing(SseSession session, CompletionPlan plan);
}

internal static class ChatStreamer
{
    /// <summary>Sends the answer token by token, round-robin over choices, flushing each event.</summary>
    public static async Task StreamAsync(SseSession session, CompletionPlan plan, IChatFormat format)
    {
        format.WriteOpening(session, plan);
        if (!await session.FlushAsync())
        {
            return;
        }

        var longest = 0;
        foreach (var choice in plan.Choices)
        {
            longest = Math.Max(longest, choice.Count);
        }

        for (var piece = 0; piece < longest; piece++)
        {
            foreach (var choice in plan.Choices)
            {
                if (piece >= choice.Count)
                {
                    continue;
                }

                if (!await session.BeforeTokenAsync())
                {
                    return;
                }

                format.WriteDelta(session, plan, choice, piece);
                if (!await session.FlushAsync())
                {
                    return;
                }
            }
        }

        if (await session.BeforeClosingAsync())
        {
            format.WriteClosing(session, plan);
            await session.FlushAsync();
        }
    }

    /// <summary>Writes pieces as one JSON string value without joining them first.</summary>
    public static void WritePieces(Utf8JsonWriter writer, ReadOnlySpan<string> pieces)
    {
        if (pieces.IsEmpty)
        {
            writer.WriteStringValue(""u8);
            return;
        }

        for (var i = 0; i < pieces.Length; i++)
        {
            writer.WriteStringValueSegment(pieces[i], isFinalSegment: i == pieces.Length - 1);
        }
    }
}
