using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Benchmarks.FrontDoor;

/// <summary>The front door's one pass over a client's body (<see cref="RequestParser.Parse"/>).</summary>
[MemoryDiagnoser]
public class RequestParserBenchmarks
{
    private byte[] _chat = [];
    private byte[] _stream = [];

    [GlobalSetup]
    public void Setup()
    {
        _chat = Encoding.UTF8.GetBytes(Payloads.ChatRequest);
        _stream = Encoding.UTF8.GetBytes(Payloads.StreamingChatRequest);
        if (!ParseChat() || !ParseStreamingChat())
        {
            throw new InvalidOperationException("The benchmark requests do not parse.");
        }
    }

    /// <summary>A typical ~1 KB chat request: system prompt, a few turns, sampling settings.</summary>
    [Benchmark(Baseline = true)]
    public bool ParseChat() => RequestParser.Parse(new ClientRequest(_chat, _chat.Length), Operation.ChatCompletions) is null;

    /// <summary>The same request streamed with <c>stream_options</c>, which the parser reads a second time.</summary>
    [Benchmark]
    public bool ParseStreamingChat() => RequestParser.Parse(new ClientRequest(_stream, _stream.Length), Operation.ChatCompletions) is null;
}
