using System.Text;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Metering;

/// <summary>Where a served request is settled: a large estimate moves off the calling thread (a socket's event thread).</summary>
public sealed class MeterTests
{
    private static readonly ActiveConfig Config = TestConfigs.Active(TestConfigs.OneDeployment);

    [Fact]
    public async Task ALargeEstimate_IsMadeOffTheCallingThread()
    {
        var call = ServedCall(promptChars: 64 * 1024, reportUsage: false);

        var settling = Meter.SettleAsync(call);

        Assert.False(settling.IsCompleted); // handed to the thread pool; before, the prompt was tokenized right here
        await settling.AsTask().WithTimeout();
        Assert.True(call.Estimated);
        // About 16,000 tokens of text, billed at most the model's context window (Meter.InputCap): the upstream took no more.
        Assert.Equal(Config.Catalog.Models[0].Config.ContextWindow, call.Usage.InputTokens);
        Assert.True(call.Cost > 0);
    }

    [Theory]
    [InlineData(100, false)] // a small estimate costs less than the hop
    [InlineData(64 * 1024, true)] // the upstream's usage: nothing to tokenize
    public void AnAnswerWithUsageOrASmallEstimate_IsSettledAtOnce(int promptChars, bool reportUsage)
    {
        var call = ServedCall(promptChars, reportUsage);

        var settling = Meter.SettleAsync(call);

        Assert.True(settling.IsCompletedSuccessfully);
        Assert.Equal(!reportUsage, call.Estimated);
        Assert.True(call.Cost > 0);
    }

    private static CorridorRequestFeature ServedCall(int promptChars, bool reportUsage)
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","messages":[{"role":"user","content":" """ + new string('w', promptChars) + "\"}]}");
        var deployment = Config.Catalog.Models[0].Deployments[0];
        var call = new CorridorRequestFeature(Config, "req_1", Dialect.OpenAI, Operation.ChatCompletions, DateTimeOffset.UnixEpoch, 0, 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
            Deployment = deployment,
            Served = true,
        };
        var answer = reportUsage
            ? """{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9000,"completion_tokens":2}}"""
            : """{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}]}""";
        Assert.True(call.Usage.TryScanObject(Encoding.UTF8.GetBytes(answer)));
        return call;
    }
}
