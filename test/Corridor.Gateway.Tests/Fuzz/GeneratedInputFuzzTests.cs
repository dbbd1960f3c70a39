using System.Buffers;
using System.Text;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Fuzz;

/// <summary>
/// Inputs generated from each dialect's grammar (<see cref="DialectGenerator"/>), and those mutated further, for the front
/// door's parser, both dialect translators (requests, responses and stream events), the usage meter and the SSE reader:
/// each answers with a value and never throws. Complements the seed mutations of <see cref="FrontDoorFuzzTests"/>.
/// </summary>
public sealed class GeneratedInputFuzzTests
{
    private const int Cases = 1_500;

    [Fact]
    public void RequestParserAndTranslators_AnswerEveryGeneratedRequest()
    {
        Run(11, (generator, random) =>
        {
            var openAI = Maybe(random, generator.OpenAIRequest());
            var anthropic = Maybe(random, generator.AnthropicRequest());
            foreach (var input in new[] { openAI, anthropic })
            {
                foreach (var operation in new[] { Operation.ChatCompletions, Operation.Messages })
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, input.Length));
                    input.CopyTo(buffer, 0);
                    using var request = new ClientRequest(buffer, input.Length);
                    var error = RequestParser.Parse(request, operation);
                    Assert.True(error is not null || request.Model.Length > 0, "a request without a model was accepted");
                    Assert.True(error is not null || request.N is >= 1 and <= RequestParser.MaxN, "n out of bounds was accepted");
                }
            }
            FrontDoorFuzzTests.AssertJsonOrError(ChatToMessages.TranslateRequest(openAI, "upstream-model", 4096));
            FrontDoorFuzzTests.AssertJsonOrError(MessagesToChat.TranslateRequest(anthropic, "upstream-model"));
            var responses = Maybe(random, generator.ResponsesRequest());
            FrontDoorFuzzTests.AssertJsonOrError(ResponsesToChat.TranslateRequest(responses, out _, out _));
            return Describe(openAI) + "\n" + Describe(anthropic) + "\n" + Describe(responses);
        });
    }

    [Fact]
    public void ResponseTranslatorsAndTheMeter_AnswerEveryGeneratedResponse()
    {
        Run(12, (generator, random) =>
        {
            var openAI = Maybe(random, generator.OpenAIResponse());
            var anthropic = Maybe(random, generator.AnthropicResponse());
            FrontDoorFuzzTests.AssertJsonOrError(MessagesToChat.TranslateResponse(openAI, "client-model", "msg_x"));
            FrontDoorFuzzTests.AssertJsonOrError(ChatToMessages.TranslateResponse(anthropic, "client-model", "chatcmpl-x"));
            foreach (var input in new[] { openAI, anthropic })
            {
                var meter = new UsageMeter(retainChars: random.Next(2) * 100);
                meter.TryScanObject(input);
                Assert.True(meter.InputTokens >= 0 || meter.Reported, "a negative count was metered without being reported");
                meter.EstimateIfMissing(input, maxOutputTokens: 100);
                Assert.True(meter.Reported || meter.OutputTokens <= 100, "an estimate exceeded the output cap");
            }
            return Describe(openAI) + "\n" + Describe(anthropic);
        });
    }

    [Fact]
    public void StreamTranslatorsAndTheMeter_AnswerEveryGeneratedEventSequence()
    {
        Run(13, (generator, random) =>
        {
            var openAI = generator.OpenAIStream();
            var anthropic = generator.AnthropicStream();
            if (random.Next(4) == 0)
            {
                var events = random.Next(2) == 0 ? openAI : anthropic;
                if (events.Count > 0)
                {
                    var at = random.Next(events.Count);
                    events[at] = (events[at].Event, FrontDoorFuzzTests.Mutate(random, events[at].Data));
                }
            }
            FrontDoorFuzzTests.AssertWellFormedSse(FrontDoorFuzzTests.Feed(MessagesToChat.CreateStreamTranslator("m", "msg_x"), openAI));
            FrontDoorFuzzTests.AssertWellFormedSse(FrontDoorFuzzTests.Feed(ChatToMessages.CreateStreamTranslator("m", "chatcmpl-x", includeUsage: random.Next(2) == 0), anthropic));
            var meter = new UsageMeter(retainChars: 100);
            foreach (var (_, data) in openAI.Concat(anthropic))
            {
                meter.TryScan(data);
            }
            meter.EstimateIfMissing("{}"u8, maxOutputTokens: 50);
            return "openai: " + FrontDoorFuzzTests.Describe(openAI) + "\nanthropic: " + FrontDoorFuzzTests.Describe(anthropic);
        });
    }

    [Fact]
    public void SseReader_SplitsEveryGeneratedStream_AtAnyChunking_IntoTheSameEvents()
    {
        Run(14, (generator, random) =>
        {
            var events = random.Next(2) == 0 ? generator.OpenAIStream() : generator.AnthropicStream();
            var wire = new StringBuilder();
            foreach (var (name, data) in events)
            {
                if (name is not null)
                {
                    wire.Append("event: ").Append(name).Append(random.Next(2) == 0 ? "\n" : "\r\n");
                }
                wire.Append("data: ").Append(Encoding.UTF8.GetString(data).Replace("\n", "", StringComparison.Ordinal)).Append("\n\n");
                if (random.Next(5) == 0)
                {
                    wire.Append(": keep-alive\n\n");
                }
            }
            var bytes = Encoding.UTF8.GetBytes(wire.ToString());
            if (random.Next(4) == 0)
            {
                bytes = FrontDoorFuzzTests.Mutate(random, bytes);
            }
            var whole = Split(bytes, [bytes.Length]);
            var cuts = Enumerable.Range(0, random.Next(1, 8)).Select(_ => random.Next(bytes.Length + 1)).Order().Append(bytes.Length).ToArray();
            Assert.Equal(whole, Split(bytes, cuts));
            return Convert.ToBase64String(bytes) + " cut at " + string.Join(",", cuts);
        });
    }

    private static List<(string Name, string Data)> Split(byte[] bytes, int[] cuts)
    {
        var events = new List<(string, string)>();
        var reader = new SseReader();
        var pending = Array.Empty<byte>();
        var start = 0;
        foreach (var cut in cuts)
        {
            var sequence = new ReadOnlySequence<byte>([.. pending, .. bytes.AsSpan(start, cut - start)]);
            Assert.True(reader.Consume(ref sequence, (in SseEvent e) => events.Add((Encoding.UTF8.GetString(e.Name), Encoding.UTF8.GetString(e.Data)))));
            pending = sequence.ToArray();
            start = cut;
        }
        reader.Flush((in SseEvent e) => events.Add((Encoding.UTF8.GetString(e.Name), Encoding.UTF8.GetString(e.Data))));
        return events;
    }

    /// <summary>A generated input, mutated further one time in four.</summary>
    private static byte[] Maybe(Random random, string generated)
    {
        var bytes = Encoding.UTF8.GetBytes(generated);
        return random.Next(4) == 0 ? FrontDoorFuzzTests.Mutate(random, bytes) : bytes;
    }

    private static string Describe(byte[] input) => Convert.ToBase64String(input);

    /// <summary>
    /// Runs <see cref="Cases"/> cases from one seed, each from its own case seed; a failure names the case seed, from which
    /// <see cref="DialectGenerator"/> regenerates its input exactly.
    /// </summary>
    private static void Run(int seed, Func<DialectGenerator, Random, string> test)
    {
        var random = new Random(seed);
        for (var i = 0; i < Cases; i++)
        {
            var state = random.Next();
            var caseRandom = new Random(state);
            try
            {
                test(new DialectGenerator(caseRandom), caseRandom);
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {seed}, case seed {state}) failed with {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
    }
}
