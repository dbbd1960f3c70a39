using System.Text.Json;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Whether a conversation gives the model an image or a document to read, which only a model with the <c>vision</c>
/// capability can (docs/configuration.md). Read from the structure (<see cref="MessageParts"/>), not from the text: a part
/// that is an image or a video, or a document that is not text alone, in a message's content or one level down, in a tool
/// result's content or a document's content source. A document of text (Anthropic's <c>text</c> source, a <c>content</c>
/// source without images) reaches an OpenAI-kind model as text (docs/translation.md), which a model that cannot see reads.
/// An OpenAI <c>file</c> part is visual whatever its data: toward an OpenAI-kind model it is sent as the part it is, which
/// a text-only API refuses.
/// </summary>
internal static class VisualContent
{
    /// <summary>Reads the <c>messages</c> array the reader is at to its end; true when a part in it is visual.</summary>
    public static bool Find(ref Utf8JsonReader reader)
    {
        var finder = new Finder();
        MessageParts.Walk(ref reader, ref finder);
        return finder.Found;
    }

    private struct Finder : IMessagePartVisitor
    {
        public static bool ReadsText => false;

        public bool Found { get; private set; }

        public readonly void Message()
        {
        }

        public readonly void Text(ref Utf8JsonReader text)
        {
        }

        public void Part(ref MessagePart part) =>
            Found |= part.Kind is PartKind.Image or PartKind.Video || part.Kind == PartKind.Document && !part.IsTextDocument;
    }
}
