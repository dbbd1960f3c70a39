using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Fuzz;

/// <summary>
/// Generated and mutated bodies sent through the real gateway to the simulator, in both dialects and across them (an
/// Anthropic client on an OpenAI model and back), whole and streamed: whatever comes in, the client gets an answer or an
/// error in its dialect, never a 500, and every request has exactly one ledger row.
/// </summary>
public sealed class GatewayFuzzTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private const int Cases = 300;

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task GeneratedAndMutatedBodies_AreAnsweredInTheDialect_NeverWithA500()
    {
        var random = new Random(21);
        using var http = Live.Http();
        var requestIds = new List<string>();
        for (var i = 0; i < Cases; i++)
        {
            var state = random.Next();
            var caseRandom = new Random(state);
            var generator = new DialectGenerator(caseRandom);
            // Anthropic messages, chat completions or the Responses API (in OpenAI's dialect).
            var kind = caseRandom.Next(3);
            var anthropic = kind == 0;
            var body = Encoding.UTF8.GetBytes(kind switch
            {
                0 => generator.AnthropicRequest(),
                1 => generator.OpenAIRequest(),
                _ => generator.ResponsesRequest(),
            });
            if (caseRandom.Next(4) == 0)
            {
                body = FrontDoorFuzzTests.Mutate(caseRandom, body);
            }
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, kind switch { 0 => "/v1/messages", 1 => "/v1/chat/completions", _ => "/v1/responses" }) { Content = content };
            request.Headers.Add("anthropic-version", "2023-06-01");

            using var response = await http.SendAsync(request).WithTimeout();
            var text = await response.Content.ReadAsStringAsync().WithTimeout();

            var what = $"case {i} (case seed {state}), {(kind switch { 0 => "anthropic", 1 => "openai", _ => "responses" })}: {(int)response.StatusCode}\n{text}\nbody: {Encoding.UTF8.GetString(body)}";
            Assert.True((int)response.StatusCode is not 500, what);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.RequestEntityTooLarge, what);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                AssertDialectError(text, anthropic, what);
            }
            else if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                foreach (var line in text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal) && l != "data: [DONE]"))
                {
                    JsonDocument.Parse(line["data: ".Length..]).Dispose();
                }
            }
            else
            {
                JsonDocument.Parse(text).Dispose();
            }
            requestIds.Add(response.Headers.GetValues("x-corridor-request-id").Single());
        }

        await Live.Gateway.FlushLedgerAsync(CancellationToken.None).WithTimeout();
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var row in Live.Store.ReadLedgerAsync(null, null, CancellationToken.None))
        {
            rows[row.RequestId] = rows.GetValueOrDefault(row.RequestId) + 1;
        }
        Assert.All(requestIds, id => Assert.Equal(1, rows.GetValueOrDefault(id)));
    }

    /// <summary>
    /// Generated (and sometimes mutated) Anthropic requests sent as message batches: each create is a batch or a 400 in
    /// Anthropic's dialect, never a 500, and each batch made runs every request through the pipeline to a result that is
    /// <c>succeeded</c> or <c>errored</c>, whatever its body held.
    /// </summary>
    [Fact]
    public async Task GeneratedAndMutatedRequests_SentAsBatches_AreRefusedOrRunToAResult_NeverA500()
    {
        var random = new Random(22);
        using var http = Live.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var made = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            var state = random.Next();
            var caseRandom = new Random(state);
            var requests = Enumerable.Range(0, caseRandom.Next(1, 4)).Select(n =>
            {
                var body = Encoding.UTF8.GetBytes(new DialectGenerator(caseRandom).AnthropicRequest());
                return caseRandom.Next(3) == 0 ? FrontDoorFuzzTests.Mutate(caseRandom, body) : body;
            });
            var batch = Encoding.UTF8.GetBytes(
                "{\"requests\":[" + string.Join(",", requests.Select((b, n) => $"{{\"custom_id\":\"c{n}\",\"params\":{Encoding.UTF8.GetString(b)}}}")) + "]}");
            using var response = await http.PostAsync("/v1/messages/batches", new ByteArrayContent(batch)).WithTimeout();
            var text = await response.Content.ReadAsStringAsync().WithTimeout();
            var what = $"case {i} (case seed {state}): {(int)response.StatusCode}\n{text}\nbody: {Encoding.UTF8.GetString(batch)}";
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, what);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                made.Add(JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!);
            }
            else
            {
                AssertDialectError(text, anthropic: true, what);
            }
        }

        Assert.NotEmpty(made);
        foreach (var id in made)
        {
            JsonElement batch;
            do
            {
                await Task.Delay(50).WithTimeout();
                batch = await http.GetFromJsonAsync<JsonElement>($"/v1/messages/batches/{id}").WithTimeout();
            }
            while (batch.GetProperty("processing_status").GetString() != "ended");
            var results = (await http.GetStringAsync($"/v1/messages/batches/{id}/results").WithTimeout()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(results);
            Assert.All(results, line => Assert.Contains(JsonDocument.Parse(line).RootElement.GetProperty("result").GetProperty("type").GetString(), new[] { "succeeded", "errored" }));
        }
    }

    private static void AssertDialectError(string text, bool anthropic, string what)
    {
        using var error = JsonDocument.Parse(text);
        if (anthropic)
        {
            Assert.True(error.RootElement.GetProperty("type").GetString() == "error", what);
            Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetProperty("type").GetString()), what);
        }
        else
        {
            Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetProperty("message").GetString()), what);
        }
    }
}
