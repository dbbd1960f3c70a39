using System.Net;
using Corridor.Testing;

namespace Corridor.Simulator.Tests;

/// <summary>Global fault options and the per-deployment <c>/x/{knobs}</c> prefix.</summary>
public sealed class FaultTests
{
    [Fact]
    public async Task LatencyKnob_DelaysTheAnswer_ByThatManyMilliseconds()
    {
        var time = new RecordingTimeProvider();
        await using var sim = await SimulatorFixture.StartAsync(time: time);

        var response = await sim.PostAsync("/x/latency=50/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal([TimeSpan.FromMilliseconds(50)], time.Delays);
    }

    [Fact]
    public async Task GlobalLatency_AddsToTheKnob()
    {
        var time = new RecordingTimeProvider();
        await using var sim = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, Latency = TimeSpan.FromMilliseconds(30) }, time);

        await sim.PostMessagesAsync(Bodies.AnthropicMessage());
        await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "/x/latency=20");

        Assert.Equal([TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(50)], time.Delays);
    }

    [Fact]
    public async Task TokenInterval_PacesEveryStreamedToken()
    {
        var time = new RecordingTimeProvider();
        await using var sim = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.FromMilliseconds(2) }, time);

        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true,"max_tokens":7"""));

        Assert.Equal("[DONE]", stream.Events[^1].Data);
        Assert.Equal(Enumerable.Repeat(TimeSpan.FromMilliseconds(2), 7), time.Delays);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(401)]
    public async Task StatusKnob_AlwaysAnswersThatStatus_InTheDialect(int status)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var openAI = await sim.PostAsync($"/x/status={status}/v1/chat/completions", Bodies.OpenAIChat());
        var anthropic = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), $"/x/status={status}");
        var azure = await sim.PostAsync($"/x/status={status}/openai/deployments/d/chat/completions?api-version=1", Bodies.OpenAIChat());

        Assert.Equal((HttpStatusCode)status, openAI.Status);
        Assert.Equal((HttpStatusCode)status, anthropic.Status);
        Assert.Equal((HttpStatusCode)status, azure.Status);
        Assert.True(openAI.Json.GetProperty("error").TryGetProperty("message", out _));
        Assert.Equal("error", anthropic.Json.GetProperty("type").GetString());
        Assert.True(azure.Json.GetProperty("error").TryGetProperty("message", out _));
    }

    [Fact]
    public async Task StatusKnob529_IsAnthropicsOverloadedError()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "/x/status=529");

        Assert.Equal(529, (int)response.Status);
        Assert.Equal("overloaded_error", response.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Rate429Knob_AnswersTooManyRequests_WithRetryAfter()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var openAI = await sim.PostAsync("/x/rate429=1/v1/chat/completions", Bodies.OpenAIChat());
        var anthropic = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "/x/rate429=1");
        var never = await sim.PostAsync("/x/rate429=0/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.TooManyRequests, openAI.Status);
        Assert.NotNull(openAI.Headers.RetryAfter);
        Assert.Equal("rate_limit_exceeded", openAI.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.TooManyRequests, anthropic.Status);
        Assert.NotNull(anthropic.Headers.RetryAfter);
        Assert.Equal("rate_limit_error", anthropic.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, never.Status);
    }

    [Fact]
    public async Task Rate429Knob_WithAFraction_LimitsSomeRequests()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            statuses.Add((await sim.PostAsync("/x/rate429=0.5/v1/embeddings", """{"model":"m","input":"x","dimensions":2}""")).Status);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Contains(HttpStatusCode.OK, statuses);
    }

    [Fact]
    public async Task DisconnectKnob_CutsTheStream_AfterThatManyTokens()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var openAI = await sim.StreamAsync("/x/disconnect=5/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true"""));
        var anthropic = await sim.StreamAsync("/x/disconnect=5/v1/messages", Bodies.AnthropicMessage(extra: ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        Assert.True(openAI.Failed);
        Assert.Equal(HttpStatusCode.OK, openAI.Status);
        Assert.DoesNotContain(openAI.Events, e => e.Data == "[DONE]");
        Assert.Equal(5, openAI.JsonEvents.Count(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var piece) && piece.GetString() != ""));
        Assert.True(anthropic.Failed);
        Assert.DoesNotContain(anthropic.Events, e => e.Name is "message_delta" or "message_stop");
        Assert.Equal(5, anthropic.Events.Count(e => e.Name == "content_block_delta"));
    }

    [Fact]
    public async Task DisconnectKnob_DeliversEveryTokenBeforeTheCut_WithoutWaitingForTimeToPass()
    {
        // A clock that never moves: the tokens reach the client before the cut however busy the machine, not because
        // the simulator waited a while for them to leave (it used to wait 100 ms, then abort, which dropped what had
        // not left yet: under load the tokens, even the headers).
        await using var sim = await SimulatorFixture.StartAsync(time: new FakeClock(DateTimeOffset.UnixEpoch));

        var openAI = await sim.StreamAsync("/x/disconnect=5/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true"""));
        var anthropic = await sim.StreamAsync("/x/disconnect=5/v1/messages", Bodies.AnthropicMessage(extra: ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        Assert.True(openAI.Failed);
        Assert.Equal(5, openAI.JsonEvents.Count(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var piece) && piece.GetString() != ""));
        Assert.True(anthropic.Failed);
        Assert.Equal(5, anthropic.Events.Count(e => e.Name == "content_block_delta"));
    }

    [Fact]
    public async Task StallKnob_SendsThatManyTokens_ThenNothing_WithTheConnectionOpen()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "x/stall=3/v1/chat/completions")
        {
            Content = new StringContent(Bodies.OpenAIChat(extra: ""","stream":true"""), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(SimulatorFixture.Timeout);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var contentEvents = 0;
        using var silence = new CancellationTokenSource(SimulatorFixture.Timeout);

        // Read until the upstream has been silent for a second after a token (however long a busy machine takes to bring the
        // first): the stream neither ends nor breaks.
        var stalled = false;
        try
        {
            while (await reader.ReadLineAsync(silence.Token) is { } line)
            {
                Assert.NotEqual("data: [DONE]", line);
                if (line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                {
                    contentEvents++;
                    silence.CancelAfter(TimeSpan.FromSeconds(1));
                }
            }
        }
        catch (OperationCanceledException)
        {
            stalled = true;
        }

        Assert.True(stalled, "the stream ended instead of stalling");
        Assert.InRange(contentEvents, 1, 3);
    }

    [Fact]
    public async Task DisconnectKnob_BeyondTheLastToken_StillCutsBeforeTheEnd()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var stream = await sim.StreamAsync("/x/disconnect=1000/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true,"max_tokens":3"""));

        Assert.True(stream.Failed);
        Assert.DoesNotContain(stream.Events, e => e.Data == "[DONE]");
    }

    [Fact]
    public async Task DisconnectKnob_DropsAWholeAnswer_BeforeItsBody()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.PostAsync("/x/disconnect=0/v1/chat/completions", Bodies.OpenAIChat()));
    }

    [Fact]
    public async Task GarbageKnob_Answers200_WithABodyThatIsNotJson()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = await sim.PostAsync("/x/garbage=1/v1/chat/completions", Bodies.OpenAIChat());
        var stream = await sim.StreamAsync("/x/garbage=1/v1/messages", Bodies.AnthropicMessage(extra: ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        Assert.Equal(HttpStatusCode.OK, whole.Status);
        Assert.Equal("application/json", whole.ContentType?.MediaType);
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => whole.Json);
        Assert.Equal(HttpStatusCode.OK, stream.Status);
        var data = Assert.Single(stream.Events);
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => data.Json);
    }

    [Fact]
    public async Task Knobs_Combine_AndApplyToEveryEndpoint()
    {
        var time = new RecordingTimeProvider();
        await using var sim = await SimulatorFixture.StartAsync(time: time);

        var models = await sim.GetAsync("/x/latency=5,status=502/v1/models");
        var embeddings = await sim.PostAsync("/x/latency=5,status=502/v1/embeddings", """{"model":"m","input":"x"}""");

        Assert.Equal(HttpStatusCode.BadGateway, models.Status);
        Assert.Equal(HttpStatusCode.BadGateway, embeddings.Status);
        Assert.Equal([TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5)], time.Delays);
    }

    [Theory]
    [InlineData("colour=red")]
    [InlineData("status=200")]
    [InlineData("rate429=2")]
    [InlineData("latency=-1")]
    [InlineData("garbage=yes")]
    public async Task UnknownOrInvalidKnob_IsA400_ThatListsTheKnobs(string knobs)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync($"/x/{knobs}/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("rate429", response.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GlobalErrorRate_AnswersServerErrors()
    {
        await using var sim = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, ErrorRate = 1 });

        var openAI = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());
        var anthropic = await sim.PostMessagesAsync(Bodies.AnthropicMessage());

        Assert.Equal(HttpStatusCode.InternalServerError, openAI.Status);
        Assert.Equal("server_error", openAI.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, anthropic.Status);
        Assert.Equal("api_error", anthropic.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task GlobalRateLimitRate_AnswersTooManyRequests()
    {
        await using var sim = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, RateLimitRate = 1 });

        var response = await sim.PostAsync("/v1/embeddings", """{"model":"m","input":"x"}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.Status);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task GlobalDisconnectRate_CutsStreamsMidway_ButNotWholeAnswers()
    {
        await using var sim = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, DisconnectRate = 1 });

        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true"""));
        var whole = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        Assert.True(stream.Failed);
        Assert.DoesNotContain(stream.Events, e => e.Data == "[DONE]");
        Assert.Equal(HttpStatusCode.OK, whole.Status);
    }

    [Fact]
    public async Task FaultRates_AreDecidedByTheSeed()
    {
        var options = new SimulatorOptions { TokenInterval = TimeSpan.Zero, ErrorRate = 0.5, Seed = 11 };
        var runs = new List<string>();
        for (var run = 0; run < 2; run++)
        {
            await using var sim = await SimulatorFixture.StartAsync(options);
            var statuses = new List<int>();
            for (var i = 0; i < 20; i++)
            {
                statuses.Add((int)(await sim.GetAsync("/v1/models")).Status);
            }

            runs.Add(string.Join(",", statuses));
        }

        Assert.Equal(runs[0], runs[1]);
        Assert.Contains("500", runs[0], StringComparison.Ordinal);
        Assert.Contains("200", runs[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthyPath_IsUnaffected_ByAnotherDeploymentsKnobs()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var faulty = await sim.PostAsync("/x/status=503/v1/chat/completions", Bodies.OpenAIChat());
        var healthy = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, faulty.Status);
        Assert.Equal(HttpStatusCode.OK, healthy.Status);
    }

    [Fact]
    public async Task DisconnectKnobZero_DropsAStream_BeforeItsHeaders()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "x/disconnect=0/v1/chat/completions")
        {
            Content = new StringContent(Bodies.OpenAIChat(extra: ""","stream":true"""), System.Text.Encoding.UTF8, "application/json"),
        };

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(SimulatorFixture.Timeout));
    }

    [Fact]
    public async Task TruncateKnob_EndsAWholeAnswerCleanly_AfterThatManyBytes()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = await sim.PostAsync("/x/truncate=40/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.OK, whole.Status);
        Assert.Equal(40, System.Text.Encoding.UTF8.GetByteCount(whole.Body));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => whole.Json);
    }

    [Fact]
    public async Task TruncateKnob_EndsAStreamCleanly_InTheMiddleOfAnEvent()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "x/truncate=3/v1/messages")
        {
            Content = new StringContent(Bodies.AnthropicMessage(extra: ""","stream":true"""), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await sim.Client.SendAsync(request).WaitAsync(SimulatorFixture.Timeout);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(SimulatorFixture.Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, body.Split("event: content_block_delta").Length - 1);
        Assert.DoesNotContain("message_stop", body, StringComparison.Ordinal);
        Assert.EndsWith("data: {\"id\":\"truncated", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResetKnob_SendsTheHeadersAndSomeOfAWholeBody_ThenDropsTheConnection()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        await AssertResetAfter20BytesAsync(sim, "x/reset=20/v1/chat/completions", Bodies.OpenAIChat());
        await AssertResetAfter20BytesAsync(sim, "x/reset=20/v1/messages", Bodies.AnthropicMessage(), ("anthropic-version", "2023-06-01"));
    }

    [Fact]
    public async Task ResetKnob_DeliversTheHeadersAndTheFirstBytesBeforeTheCut_WithoutWaitingForTimeToPass()
    {
        // A clock that never moves: the headers and the first bytes reach the client before the cut however busy the
        // machine, not because the simulator waited a while for them to leave (it used to wait 100 ms, then abort, which
        // dropped what had not left yet: under load the bytes, even the headers).
        await using var sim = await SimulatorFixture.StartAsync(time: new FakeClock(DateTimeOffset.UnixEpoch));

        await AssertResetAfter20BytesAsync(sim, "x/reset=20/v1/chat/completions", Bodies.OpenAIChat());
        await AssertResetAfter20BytesAsync(sim, "x/reset=20/v1/messages", Bodies.AnthropicMessage(), ("anthropic-version", "2023-06-01"));
    }

    [Fact]
    public async Task StallKnob_SendsTheHeadersAndSomeOfAWholeBody_ThenNothing()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "x/stall=20/v1/chat/completions")
        {
            Content = new StringContent(Bodies.OpenAIChat(), System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(SimulatorFixture.Timeout);
        using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        var received = 0;
        // Silent for a second after the last bytes (however long a busy machine takes to bring the first).
        using var silence = new CancellationTokenSource(SimulatorFixture.Timeout);
        var stalled = false;
        try
        {
            while (await stream.ReadAsync(buffer.AsMemory(received), silence.Token) is var read and > 0)
            {
                received += read;
                silence.CancelAfter(TimeSpan.FromSeconds(1));
            }
        }
        catch (OperationCanceledException)
        {
            stalled = true;
        }

        Assert.True(stalled, "the body ended instead of stalling");
        Assert.Equal(20, received);
        Assert.True(response.Content.Headers.ContentLength > 20);
    }

    /// <summary>A 200 whose headers declare more than 20 bytes, exactly 20 bytes of body, then a broken connection.</summary>
    private static async Task AssertResetAfter20BytesAsync(SimulatorFixture sim, string path, string json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(SimulatorFixture.Timeout);
        using var stream = await response.Content.ReadAsStreamAsync().WaitAsync(SimulatorFixture.Timeout);
        var buffer = new byte[4096];
        var received = 0;
        var broken = false;
        try
        {
            while (await stream.ReadAsync(buffer.AsMemory(received)).AsTask().WaitAsync(SimulatorFixture.Timeout) is var read and > 0)
            {
                received += read;
            }
        }
        catch (IOException)
        {
            broken = true;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Content.Headers.ContentLength > 20);
        Assert.True(broken, "the body ended cleanly instead of breaking off");
        Assert.Equal(20, received);
    }
}
