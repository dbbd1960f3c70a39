using System.Text;
using Corridor.Core.Metering;
using Corridor.Simulator;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A gateway whose upstream streams slowly (one token every 100 ms) and is reached through a <see cref="TcpRelay"/>,
/// so a test can cancel a stream in the middle and see from outside whether the gateway dropped its upstream request.
/// </summary>
public sealed class SlowStreamGatewayFixture : LiveGatewayFixture
{
    private TcpRelay? _relay;

    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected override Task<LiveGateway> StartAsync() => LiveGateway.StartAsync(
        simulator =>
        {
            _relay = TcpRelay.Start(simulator);
            return TestCatalog.Yaml(_relay.Address);
        },
        new SimulatorOptions { TokenInterval = TimeSpan.FromMilliseconds(100) });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_relay is not null)
        {
            await _relay.DisposeAsync().AsTask().WithTimeout();
        }
    }
}

/// <summary>A client that goes away mid-stream: the gateway cancels its upstream request and records the disconnect.</summary>
public sealed class ClientDisconnectTests(SlowStreamGatewayFixture fixture) : IClassFixture<SlowStreamGatewayFixture>
{
    /// <summary>The simulator answers this prompt with well over a hundred tokens in both dialects: ten seconds and more at this pace.</summary>
    private const string LongAnswerPrompt = "Write at length.";

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task OpenAIClientCancellingMidStream_CancelsTheUpstreamRequest_AndTheLedgerSaysClientDisconnected()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");
        var whole = (await chat.CompleteChatAsync([new UserChatMessage(LongAnswerPrompt)], null, default).WithTimeout()).Value;
        Assert.True(whole.Usage.OutputTokenCount > 100, "precondition: the answer is long enough to cancel in the middle");
        var closedBefore = fixture.Relay.ClosedByCaller;
        var log = new ResponseLog();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var received = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Live.OpenAI(log: log).GetChatClient("gpt-4.1").CompleteChatStreamingAsync([new UserChatMessage(LongAnswerPrompt)], null, cancel.Token))
            {
                received.AddRange(update.ContentUpdate.Select(p => p.Text));
                if (received.Count == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.False(timeout.IsCancellationRequested, "the stream was cancelled by the timeout, not by the test");
        await fixture.Relay.WaitForClosedByCallerAsync(closedBefore);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.ClientDisconnected, row.Outcome);
        Assert.Equal("gpt-4.1-sg", row.DeploymentId);
        // No usage came before the disconnect: what was generated so far is estimated, and it is less than the whole answer.
        Assert.True(row.Estimated);
        Assert.InRange(row.OutputTokens, 1, whole.Usage.OutputTokenCount - 1);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task AnthropicClientCancellingMidStream_CancelsTheUpstreamRequest_AndTheLedgerSaysClientDisconnected()
    {
        var whole = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", LongAnswerPrompt)).WithTimeout();
        Assert.True(whole.Usage.OutputTokens > 100, "precondition: the answer is long enough to cancel in the middle");
        var closedBefore = fixture.Relay.ClosedByCaller;
        var log = new ResponseLog();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var textDeltas = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask("claude-sonnet-4", LongAnswerPrompt), cancel.Token))
            {
                if (e.TryPickContentBlockDelta(out _) && ++textDeltas == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.False(timeout.IsCancellationRequested, "the stream was cancelled by the timeout, not by the test");
        await fixture.Relay.WaitForClosedByCallerAsync(closedBefore);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.ClientDisconnected, row.Outcome);
        Assert.Equal("claude-us", row.DeploymentId);
        Assert.Equal(whole.Usage.InputTokens, row.InputTokens);
        Assert.True(row.Estimated);
        Assert.InRange(row.OutputTokens, 1, whole.Usage.OutputTokens - 1);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task APromptsImageAndVideoByAddress_AreEstimatedAtTheirOwnFigures_WhateverTheLengthOfTheirAddresses()
    {
        // The upstream reads an image or a video at its address, not the address as text: the estimate of a prompt whose
        // usage never came (its client left) counts the image at 85 tokens and the video at none (docs/token-counts.md), as
        // a token count does, so two prompts that differ only in their addresses' lengths are estimated alike.
        static string Parts(string image, string video) =>
            $$$"""{"type":"image_url","image_url":{"url":"{{{image}}}"}},{"type":"video_url","video_url":{"url":"{{{video}}}"}}""";
        var shortAddresses = await EstimatedPromptTokensAsync(Parts("https://example.com/a.png", "https://example.com/a.mp4"));
        var longAddresses = await EstimatedPromptTokensAsync(Parts(
            "https://images.example.com/" + string.Concat(Enumerable.Repeat("catalogue/spring/product-4471/", 20)) + "front.png",
            "https://videos.example.com/" + string.Concat(Enumerable.Repeat("warehouse/camera-7/2024-05-01/", 20)) + "clip.mp4"));

        Assert.Equal(shortAddresses, longAddresses);
    }

    [Fact]
    public async Task APromptsAudio_IsEstimatedAtItsDuration_NotItsBase64()
    {
        // OpenAI counts a user's audio at a token per 100 ms: a second more of it is 10 tokens more, not the thousands of
        // tokens its base64 would make as text.
        static string Part(double seconds) =>
            $$$"""{"type":"input_audio","input_audio":{"data":"{{{Convert.ToBase64String(TestAudio.Wav(seconds))}}}","format":"wav"}}""";
        var oneSecond = await EstimatedPromptTokensAsync(Part(1));
        var twoSeconds = await EstimatedPromptTokensAsync(Part(2));

        Assert.Equal(10, twoSeconds - oneSecond);
    }

    /// <summary>
    /// The prompt tokens the ledger estimated for a stream to gpt-4.1 of a text and <paramref name="parts"/> (content parts'
    /// JSON), whose client left after its first event, before any usage came.
    /// </summary>
    private async Task<long> EstimatedPromptTokensAsync(string parts)
    {
        var body = $$$"""{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"{{{LongAnswerPrompt}}}"},{{{parts}}}]}]}""";
        var closedBefore = fixture.Relay.ClosedByCaller;
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        string requestId;
        // The client (its connections closed with it) is gone before the test waits for the gateway to see it leave.
        using (var http = Live.Http())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            Assert.True(response.IsSuccessStatusCode, $"status {(int)response.StatusCode}");
            requestId = response.Headers.GetValues("x-corridor-request-id").Single();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                while (await reader.ReadLineAsync(cancel.Token) is { } line)
                {
                    if (line.StartsWith("data:", StringComparison.Ordinal))
                    {
                        await cancel.CancelAsync();
                    }
                }
            });
        }

        Assert.False(timeout.IsCancellationRequested, "the stream was cancelled by the timeout, not by the test");
        await fixture.Relay.WaitForClosedByCallerAsync(closedBefore);
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal(RequestOutcome.ClientDisconnected, row.Outcome);
        Assert.True(row.Estimated);
        return row.InputTokens;
    }

    private async Task AssertStillServingAsync()
    {
        var completion = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Still there?")], null, default).WithTimeout()).Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }
}
