using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Scoring;

/// <summary>Each profile signal, on a synthetic stream that has the behaviour and one that does not.</summary>
public sealed class SignalTests
{
    private static readonly MonitorOptions Options = new();

    private static double Signal(Signal signal, int count, Func<int, RequestFeatures> request)
    {
        var state = new SubjectState();
        state.Reset(SubjectKind.Key, "key", "tenant");
        var last = 0L;
        for (var i = 0; i < count; i++)
        {
            var features = request(i);
            state.Update(features, Options, []);
            last = features.TimestampMs;
        }

        state.ComputeProfile(last, Options);
        return state.SignalValues[(int)signal];
    }

    private static DateTimeOffset Every(int i, int seconds = 600) => TestRequests.Start.AddSeconds(i * seconds);

    [Fact]
    public void CotElicitation_NeedsTheAskAndALongAnswer()
    {
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => TestRequests.Features(TestRequests.Chat($"{TestRequests.Task(i)}\n\nThink step by step and show all your reasoning."), Every(i), output: 1500)));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => TestRequests.Features(TestRequests.Chat($"{TestRequests.Task(i)}\n\nThink step by step and show all your reasoning."), Every(i), output: 60)));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), Every(i), output: 1500)));
    }

    [Fact]
    public void CotElicitation_CountsAReasoningAskByParameter_ServedWithLongReasoning()
    {
        // No marker in the prompt: the ask is the API parameter, and what it yields is the reasoning itself, returned as
        // text the caller keeps (DeepSeek's reasoning_content, Anthropic's thinking blocks).
        static RequestFeatures Asked(int i, int reasoningTokens, string parameter = "\"reasoning_effort\":\"high\"", bool returned = true)
        {
            var body = TestRequests.Utf8($$"""{"model":"m","messages":[{"role":"user","content":"{{TestRequests.Task(i)}}"}],{{parameter}}}""");
            var metadata = TestRequests.Metadata(Every(i), "key", "tenant", output: reasoningTokens + 60) with { ReasoningTokens = reasoningTokens, ReasoningReturned = returned };
            return FeatureExtractor.Extract(metadata, body);
        }

        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200)));
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":4096}")));
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200, "\"chat_template_kwargs\":{\"enable_thinking\":true}")));

        // Asked, but little or no reasoning came back: nothing harvested.
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 40)));

        // Asked and billed, but kept hidden by the vendor (OpenAI's reasoning models): nothing the caller could keep.
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200, returned: false)));

        // Reasoning came back unasked (a model that reasons whatever the request says): the caller did not ask for it.
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200, "\"temperature\":0.7")));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.CotElicitation, 40, i => Asked(i, 1200, "\"reasoning_effort\":\"minimal\"")));
    }

    [Fact]
    public void VerbosityElicitation_FollowsAsksForLength()
    {
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.VerbosityElicitation, 30, i => TestRequests.Features(TestRequests.Chat($"{TestRequests.Task(i)} Answer in detail and be thorough."), Every(i))));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.VerbosityElicitation, 30, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), Every(i))));
    }

    [Fact]
    public void DatasetFormat_FollowsInstructionDatasetLayouts() =>
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.DatasetFormat, 30, i => TestRequests.Features(TestRequests.Chat($"### Instruction:\n{TestRequests.Task(i)}\n\n### Response:"), Every(i))));

    [Fact]
    public void OutputYield_IsHighForLongAnswersToShortPrompts()
    {
        Assert.True(Signal(Corridor.Monitor.Scoring.Signal.OutputYield, 30, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), Every(i), input: 100, output: 2000)) >= 0.8);
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.OutputYield, 30, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), Every(i), input: 400, output: 50)));
    }

    [Fact]
    public void HarvestSampling_CountsManySamples_AndLogprobsOnOpenGeneration_NotOnLabels()
    {
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.HarvestSampling, 20, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i), n: 8), Every(i))));
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.HarvestSampling, 20, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i), maxTokens: 2048, logprobs: true, topLogprobs: 20), Every(i), output: 500)));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.HarvestSampling, 20, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i), maxTokens: 16, temperature: 0, logprobs: true, topLogprobs: 3), Every(i), output: 2)));
    }

    [Fact]
    public void TemperatureSweep_SeesSeveralTemperaturesSideBySide()
    {
        double[] sweep = [0.2, 0.7, 1.0];
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.TemperatureSweep, 30, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i), temperature: sweep[i % 3]), Every(i))));
        Assert.Equal(0, Signal(Corridor.Monitor.Scoring.Signal.TemperatureSweep, 30, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i), temperature: 0.7), Every(i))));
    }

    [Fact]
    public void ScriptedCoverage_IsHighForNewOneShotPrompts_AndLowForConversations()
    {
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.ScriptedCoverage, 60, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), Every(i))));
        var history = new List<(string, string)> { ("user", "my order is late"), ("assistant", "Sorry about that, let me check.") };
        string[] followUps = ["thanks", "why?", "ok", "can you check again?"];
        Assert.True(Signal(Corridor.Monitor.Scoring.Signal.ScriptedCoverage, 60, i => TestRequests.Features(TestRequests.Chat(followUps[i % 4], history: i % 2 == 0 ? history : null), Every(i))) < 0.2);
    }

    [Fact]
    public void TemplatedPrompts_SeesFixedFramesAroundChangingPayloads()
    {
        Assert.Equal(1, Signal(Corridor.Monitor.Scoring.Signal.TemplatedPrompts, 40, i => TestRequests.Features(TestRequests.Chat($"Solve the following problem carefully.\n\n{TestRequests.Task(i * 7)}\n\nGive only the final answer."), Every(i))));
        Assert.True(Signal(Corridor.Monitor.Scoring.Signal.TemplatedPrompts, 40, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i * 7)), Every(i))) < 0.2);
    }

    [Fact]
    public void MachineCadence_IsHighForRegularRoundTheClockPacing_AndLowForPeople()
    {
        var random = new Random(5);
        Assert.True(Signal(Corridor.Monitor.Scoring.Signal.MachineCadence, 300, i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), TestRequests.Start.AddSeconds((i * 600) + random.Next(-30, 30)))) >= 0.8);

        // Office hours, bursty: a few requests close together, then long pauses.
        var at = TestRequests.Start.AddHours(9);
        Assert.True(Signal(Corridor.Monitor.Scoring.Signal.MachineCadence, 200, i =>
        {
            at = at.AddSeconds(random.NextDouble() < 0.3 ? random.Next(1800, 7200) : random.Next(5, 120));
            if (at.Hour >= 18)
            {
                at = at.Date.AddDays(1).AddHours(9);
            }

            return TestRequests.Features(TestRequests.Chat(TestRequests.Task(i)), at);
        }) < 0.4);
    }

    /// <summary>A job run every 10 minutes (give or take a minute) in office hours, over three days: regular, but not round the clock.</summary>
    private static List<RequestFeatures> OfficeHoursJob()
    {
        var random = new Random(11);
        var requests = new List<RequestFeatures>();
        for (var day = 0; day < 3; day++)
        {
            for (var slot = 0; slot < 54; slot++)
            {
                var at = TestRequests.Start.AddDays(day).AddHours(9).AddMinutes(10 * slot).AddSeconds(random.Next(-60, 60));
                requests.Add(TestRequests.Features(TestRequests.Chat(TestRequests.Task(requests.Count)), at));
            }
        }

        return requests;
    }

    /// <summary>A batch as the runner runs it: a request every 20 seconds for 24 hours, from 00:00 of the second day.</summary>
    private static List<RequestFeatures> BatchRun(string? batch, string ask = "")
    {
        var start = TestRequests.Start.AddDays(1);
        return Enumerable.Range(0, 4320)
            .Select(i => TestRequests.Features(TestRequests.Chat(TestRequests.Task(10_000 + i) + ask), start.AddSeconds(20 * i), output: 1500, batch: batch))
            .ToList();
    }

    private static SubjectState Observe(IEnumerable<RequestFeatures> requests, long now)
    {
        var state = new SubjectState();
        state.Reset(SubjectKind.Key, "key", "tenant");
        foreach (var request in requests.OrderBy(r => r.TimestampMs))
        {
            state.Update(request, Options, []);
        }

        state.ComputeProfile(now, Options);
        return state;
    }

    [Fact]
    public void MachineCadence_OfAKeyRunningABatch_IsWhatItsLiveTrafficGives()
    {
        var live = OfficeHoursJob();
        var batch = BatchRun("batch_0001");
        var now = Math.Max(live.Max(r => r.TimestampMs), batch.Max(r => r.TimestampMs));
        var liveCadence = Observe(live, now).SignalValues[(int)Corridor.Monitor.Scoring.Signal.MachineCadence];
        Assert.InRange(liveCadence, 0.3, 0.7);

        // The runner's pacing (regular, round the clock) sent live would read as a machine's...
        Assert.True(Observe(live.Concat(BatchRun(batch: null)), now).SignalValues[(int)Corridor.Monitor.Scoring.Signal.MachineCadence] >= 0.8);

        // ...but it is Corridor's, not the client's: interleaved with the live requests, the batch's leave their gaps and
        // their hours alone, and the key's cadence is its live traffic's.
        var both = Observe(live.Concat(batch), now);
        Assert.Equal(liveCadence, both.SignalValues[(int)Corridor.Monitor.Scoring.Signal.MachineCadence], 9);
    }

    [Fact]
    public void AKeyThatOnlyRunsBatches_HasNoCadence_AndItsBatchesContentCountsFully()
    {
        var batch = BatchRun("batch_0002", "\n\nThink step by step and show all your reasoning.");
        var state = Observe(batch, batch[^1].TimestampMs);

        // No live request, no pacing to read: the timing signal has no data, as with too few gaps.
        Assert.Equal(0, state.SignalValues[(int)Corridor.Monitor.Scoring.Signal.MachineCadence]);

        // Bulk generation is the harvester's path: the prompts, the answers and the evidence behind them count as a live key's.
        Assert.Equal(1, state.SignalValues[(int)Corridor.Monitor.Scoring.Signal.CotElicitation]);
        Assert.True(state.SignalValues[(int)Corridor.Monitor.Scoring.Signal.OutputYield] > 0.5);
        Assert.True(state.ComputeConfidence(batch[^1].TimestampMs, Options) > 0.9);
    }
}
