namespace Corridor.Gateway.Translation;

/// <summary>What a message of the chat request made of a Responses request was made of.</summary>
internal enum MessageSourceKind : byte
{
    /// <summary>Several input items: an assistant turn (a reasoning item, an answer and function calls become one message).</summary>
    Turn,

    /// <summary>The request's <c>instructions</c>.</summary>
    Instructions,

    /// <summary>The request's <c>input</c>, a string.</summary>
    InputText,

    /// <summary>A message item (<c>user</c>, <c>system</c>, <c>developer</c>): its content parts, one for one.</summary>
    Message,

    /// <summary>A <c>function_call_output</c> item: its <c>output</c> is the message's content.</summary>
    Output,
}

/// <summary>
/// What a message of the chat request made of a Responses request was made of (<see cref="ResponsesToChat.TranslateRequest(ReadOnlySpan{byte}, out byte[], out MessageSource[])"/>),
/// so that a parameter the chat request names (<c>messages[i]…</c>: a translation's refusal, an upstream's 400) is named as
/// the client sent it: <c>input[k]…</c>, as OpenAI names an input item in its errors' <c>param</c>.
/// </summary>
internal readonly record struct MessageSource(MessageSourceKind Kind, int Item = 0)
{
    /// <summary>
    /// The Responses parameter of <paramref name="rest"/> (what follows <c>messages[i]</c> in a chat parameter: nothing, or
    /// <c>.content[j].image_url.url</c>, say) in this message: the item and, in a message item's content, the same part and
    /// its field as a Responses part names it (<c>image_url.url</c> → <c>image_url</c>, <c>file.file_data</c> →
    /// <c>file_data</c>); a message of several items is named <c>input</c>, which holds them all.
    /// </summary>
    public string Name(ReadOnlySpan<char> rest) => Kind switch
    {
        MessageSourceKind.Instructions => "instructions",
        MessageSourceKind.InputText or MessageSourceKind.Turn => "input",
        MessageSourceKind.Output when rest.StartsWith(".content") => $"input[{Item}].output",
        MessageSourceKind.Message when rest.StartsWith(".content") => $"input[{Item}].content{Part(rest[".content".Length..])}",
        MessageSourceKind.Message when rest.SequenceEqual(".role") => $"input[{Item}].role",
        _ => $"input[{Item}]",
    };

    /// <summary>A chat content part's path (<c>[j].file.file_data</c>) as the Responses part it was made of names it (<c>[j].file_data</c>).</summary>
    private static string Part(ReadOnlySpan<char> part)
    {
        var close = part.IndexOf(']');
        if (!part.StartsWith("[") || close < 0)
        {
            return part.ToString();
        }
        var field = part[(close + 1)..];
        return string.Concat(part[..(close + 1)], field switch
        {
            ".image_url.url" => ".image_url",
            ".image_url.detail" => ".detail",
            ".file" => "",
            _ when field.StartsWith(".file.") => field[".file".Length..],
            _ => field,
        });
    }
}
