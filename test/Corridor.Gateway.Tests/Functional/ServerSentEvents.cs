using System.Runtime.CompilerServices;
using System.Text;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>One event of a server-sent event stream as it came over the wire.</summary>
public sealed record ServerSentEvent(string? Name, string Data);

/// <summary>Reads a whole <c>text/event-stream</c> body, for tests that look at the raw stream rather than through an SDK.</summary>
public static class ServerSentEvents
{
    public static async Task<List<ServerSentEvent>> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var events = new List<ServerSentEvent>();
        await foreach (var e in ReadAsync(response, cancellationToken))
        {
            events.Add(e);
        }
        return events;
    }

    /// <summary>Each event as it arrives, for tests that look at the moment an event came.</summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        string? name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    yield return new ServerSentEvent(name, data.ToString());
                }
                name = null;
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line["event:".Length..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line["data:".Length..].TrimStart());
            }
        }
        if (data.Length > 0)
        {
            yield return new ServerSentEvent(name, data.ToString());
        }
    }
}
