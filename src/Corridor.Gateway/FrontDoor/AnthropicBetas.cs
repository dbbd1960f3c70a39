using System.Collections.Frozen;
using System.Text;
using Corridor.Core.Catalog;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// An Anthropic client's <c>anthropic-beta</c> header: the beta features its request uses. Anthropic refuses a body that
/// uses one without it (Claude Code's <c>context_management</c>: "Extra inputs are not permitted"), so it is the one client
/// header that goes upstream, to Anthropic-kind deployments only, and only as a list of names: each item letters, digits,
/// '.', '_' or '-' (<see cref="VendorConfig.IsBetaName"/>), the items of every such header the client sent. Of those, only
/// the ones the operator enabled on the deployment's vendor (<see cref="VendorConfig.Betas"/>) are sent; nothing else the
/// client wrote can reach the upstream's head.
/// </summary>
internal static class AnthropicBetas
{
    private const string Header = "anthropic-beta";

    /// <summary>Longer than any list of betas a client sends; keeps the upstream's head small.</summary>
    private const int MaxLength = 2048;

    /// <summary>
    /// Reads the names of the client's betas into <paramref name="names"/>, null when it sent none; an error when a value is
    /// not a list of names.
    /// </summary>
    public static GatewayError? Read(HttpRequest request, out string[]? names)
    {
        names = null;
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return null;
        }
        var read = new List<string>();
        var length = 0;
        foreach (var value in values)
        {
            foreach (var item in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!VendorConfig.IsBetaName(item))
                {
                    return GatewayError.Invalid($"The anthropic-beta header must be a comma-separated list of beta names; '{Shown(item)}' is not one.");
                }
                read.Add(item);
                length += item.Length + 1;
            }
        }
        if (length > MaxLength)
        {
            return GatewayError.Invalid($"The anthropic-beta header is longer than {MaxLength} characters.");
        }
        names = read.Count == 0 ? null : [.. read];
        return null;
    }

    /// <summary>
    /// The header line to send upstream (<c>anthropic-beta: a,b\r\n</c>) with those of <paramref name="names"/> that are
    /// <paramref name="enabled"/>, in the client's order; null when none is.
    /// </summary>
    public static byte[]? Line(string[] names, FrozenSet<string> enabled)
    {
        StringBuilder? line = null;
        foreach (var name in names)
        {
            if (enabled.Contains(name))
            {
                line = line is null ? new StringBuilder(Header).Append(": ") : line.Append(',');
                line.Append(name);
            }
        }
        return line is null ? null : Encoding.ASCII.GetBytes(line.Append("\r\n").ToString());
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
