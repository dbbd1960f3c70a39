using System.Text;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// An Anthropic client's <c>anthropic-beta</c> header: the beta features its request uses. Anthropic refuses a body that
/// uses one without it (Claude Code's <c>context_management</c>: "Extra inputs are not permitted"), so it is the one client
/// header that goes upstream, to Anthropic-kind deployments only, and only as a list of names: each item letters, digits,
/// '.', '_' or '-', the items of every such header the client sent joined by commas. Anthropic itself says which names it
/// knows (an unknown one is its 400, relayed); nothing else the client wrote can reach the upstream's head.
/// </summary>
internal static class AnthropicBetas
{
    private const string Header = "anthropic-beta";

    /// <summary>Longer than any list of betas a client sends; keeps the upstream's head small.</summary>
    private const int MaxLength = 2048;

    /// <summary>
    /// Reads the client's betas into <paramref name="line"/>, the header line to send upstream (<c>anthropic-beta: a,b\r\n</c>),
    /// or null when it sent none; an error when a value is not a list of names.
    /// </summary>
    public static GatewayError? Read(HttpRequest request, out byte[]? line)
    {
        line = null;
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return null;
        }
        var joined = new StringBuilder(Header.Length + 2);
        joined.Append(Header).Append(": ");
        var names = 0;
        foreach (var value in values)
        {
            foreach (var item in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IsName(item))
                {
                    return GatewayError.Invalid($"The anthropic-beta header must be a comma-separated list of beta names; '{Shown(item)}' is not one.");
                }
                joined.Append(names++ == 0 ? "" : ",").Append(item);
            }
        }
        if (names == 0)
        {
            return null;
        }
        if (joined.Length > MaxLength)
        {
            return GatewayError.Invalid($"The anthropic-beta header is longer than {MaxLength} characters.");
        }
        line = Encoding.ASCII.GetBytes(joined.Append("\r\n").ToString());
        return null;
    }

    private static bool IsName(string item)
    {
        foreach (var c in item)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The item as an error may quote it: at most 64 characters, none outside printable ASCII.</summary>
    private static string Shown(string item)
    {
        var shown = new StringBuilder(Math.Min(item.Length, 64));
        foreach (var c in item.AsSpan(0, Math.Min(item.Length, 64)))
        {
            shown.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return shown.ToString();
    }
}
