using System.Text.RegularExpressions;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Translation;

/// <summary>
/// An upstream's 400 for a prompt over the model's context window, said in the client's dialect. Applications and
/// frameworks recognise it by OpenAI's code <c>context_length_exceeded</c> (and its message's "maximum context length")
/// or by Anthropic's "prompt is too long", and then trim the conversation or move to a larger model; in the other vendor's
/// words it is a 400 they do not recognise. The upstream's own message follows in parentheses.
/// </summary>
internal static partial class ContextLengthErrors
{
    public const string OpenAICode = "context_length_exceeded";

    /// <summary>The error to answer with, or null when the upstream's error is another one (or in the client's dialect).</summary>
    public static GatewayError? Translate(Dialect client, Dialect upstream, bool responsesClient, string message, ReadOnlySpan<byte> body, int status)
    {
        if (client == Dialect.OpenAI && upstream == Dialect.Anthropic && AnthropicTooLong().Match(message) is { Success: true } anthropic)
        {
            var text = $"This model's maximum context length is {anthropic.Groups[2].Value} tokens. However, your messages resulted in "
                + $"{anthropic.Groups[1].Value} tokens. Please reduce the length of the messages. ({message})";
            return new GatewayError(ErrorKind.InvalidRequest, text, OpenAICode, responsesClient ? "input" : "messages") { StatusOverride = status };
        }
        if (client == Dialect.Anthropic && upstream == Dialect.OpenAI)
        {
            var text = OpenAITooLong().Match(message) is { Success: true } openAI
                ? $"prompt is too long: {openAI.Groups[2].Value} tokens > {openAI.Groups[1].Value} maximum ({message})"
                : body.IndexOf("\"context_length_exceeded\""u8) >= 0 ? $"prompt is too long ({message})" : null;
            return text is null ? null : new GatewayError(ErrorKind.InvalidRequest, text, "upstream_rejected") { StatusOverride = status };
        }
        return null;
    }

    [GeneratedRegex("^prompt is too long: ([0-9]+) tokens > ([0-9]+) maximum", RegexOptions.CultureInvariant)]
    private static partial Regex AnthropicTooLong();

    /// <summary>"… maximum context length is M tokens. However, your messages resulted in N tokens" (or "you requested N tokens").</summary>
    [GeneratedRegex("maximum context length is ([0-9]+) tokens\\. However, (?:your messages resulted in|you requested) ([0-9]+) tokens", RegexOptions.CultureInvariant)]
    private static partial Regex OpenAITooLong();
}
