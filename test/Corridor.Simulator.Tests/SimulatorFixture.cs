using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Corridor.Simulator.Tests;

/// <summary>A simulator on a loopback port and an HttpClient pointed at it; every call has a timeout.</summary>
internal sealed class SimulatorFixture : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly RunningSimulator _simulator;

    private SimulatorFixture(RunningSimulator simulator)
    {
        _simulator = simulator;
        Client = new HttpClient { BaseAddress = simulator.BaseAddress, Timeout = Timeout };
    }

    public HttpClient Client { get; }

    public Uri BaseAddress => _simulator.BaseAddress;

    /// <summary>Tests run fast: no pause between tokens unless a test asks for one.</summary>
    public static async Task<SimulatorFixture> StartAsync(SimulatorOptions? options = null, TimeProvider? time = null)
    {
        options ??= new SimulatorOptions { TokenInterval = TimeSpan.Zero };
        var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", options, time ?? TimeProvider.System, CancellationToken.None).WaitAsync(Timeout);
        return new SimulatorFixture(simulator);
    }

    public Task<SimResponse> PostAsync(string path, string json, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Post, path, json, headers);

    public Task<SimResponse> GetAsync(string path, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Get, path, null, headers);

    /// <summary>POST to Anthropic's messages endpoint with the version header it requires.</summary>
    public Task<SimResponse> PostMessagesAsync(string json, string prefix = "", params (string Name, string Value)[] headers) =>
        PostAsync(prefix + "/v1/messages", json, [("anthropic-version", "2023-06-01"), .. headers]);

    public async Task<SimResponse> SendAsync(HttpMethod method, string path, string? json, (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Client.SendAsync(request).WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        return new SimResponse(response.StatusCode, response.Headers, response.Content.Headers.ContentType, body);
    }

    /// <summary>Reads a whole event stream; stops early (with <see cref="SseRead.Failed"/>) when the connection breaks.</summary>
    public async Task<SseRead> StreamAsync(string path, string json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Timeout);
        var events = new List<SseEvent>();
        string? eventName = null;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().WaitAsync(Timeout));
            while (await reader.ReadLineAsync().WaitAsync(Timeout) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(new SseEvent(eventName, line["data: ".Length..]));
                    eventName = null;
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return new SseRead(response.StatusCode, response.Content.Headers.ContentType, events, Failed: true);
        }

        return new SseRead(response.StatusCode, response.Content.Headers.ContentType, events, Failed: false);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _simulator.DisposeAsync().AsTask().WaitAsync(Timeout);
    }
}

internal sealed record SimResponse(HttpStatusCode Status, HttpResponseHeaders Headers, MediaTypeHeaderValue? ContentType, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Header(string name) => Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

internal sealed record SseEvent(string? Name, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

internal sealed record SseRead(HttpStatusCode Status, MediaTypeHeaderValue? ContentType, List<SseEvent> Events, bool Failed)
{
    /// <summary>The JSON events, without OpenAI's <c>[DONE]</c> marker.</summary>
    public IEnumerable<JsonElement> JsonEvents => Events.Where(e => e.Data != "[DONE]").Select(e => e.Json);
}

/// <summary>Fires every timer at once and records what was asked for, so delays are asserted without waiting.</summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    public ConcurrentQueue<TimeSpan> Delays { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Delays.Enqueue(dueTime);
        return System.CreateTimer(callback, state, TimeSpan.Zero, period);
    }
}

/// <summary>Request bodies used across tests.</summary>
internal static class Bodies
{
    public static string Quote(string text) => $"\"{JsonEncodedText.Encode(text)}\"";

    public static string OpenAIChat(string userText = "Hello there", string extra = "", string model = "gpt-4.1") =>
        $$"""{"model":"{{model}}","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":{{Quote(userText)}}}]{{extra}}}""";

    public static string AnthropicMessage(string userText = "Hello there", string extra = "", int maxTokens = 1024) =>
        $$"""{"model":"claude-sonnet-4","max_tokens":{{maxTokens}},"system":"You are terse.","messages":[{"role":"user","content":{{Quote(userText)}}}]{{extra}}}""";

    public const string WeatherToolSchema =
        """{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":3},"verbose":{"type":"boolean"}},"required":["city","unit","days"]}""";

    public const string OpenAIWeatherTools =
        ""","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":""" + WeatherToolSchema + """}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]}}}]""";

    public const string AnthropicWeatherTools =
        ""","tools":[{"name":"get_weather","description":"Weather","input_schema":""" + WeatherToolSchema + """},{"name":"get_time","input_schema":{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]}}]""";
}
