using System.Text;
using System.Text.Json;
using Corridor.Core.Batches;

namespace Corridor.Core.Tests.Batches;

public sealed class BatchInputTests
{
    private const string Chat = "/v1/chat/completions";

    private static BatchInput.Result OpenAI(string text, int max = 100) => BatchInput.ReadOpenAI(Encoding.UTF8.GetBytes(text), Chat, max);

    private static string Line(string id, string body = """{"model":"gpt-4.1"}""", string url = Chat) =>
        $$"""{"custom_id":"{{id}}","method":"POST","url":"{{url}}","body":{{body}}}""";

    [Fact]
    public void AnOpenAIFile_BecomesItsRequestsInOrder_WithTheirBodiesAsSent_SkippingEmptyLines()
    {
        var result = OpenAI(Line("a", """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""") + "\r\n\n" + Line("b"));

        Assert.Null(result.Error);
        Assert.Equal([(0, "a"), (1, "b")], result.Items!.Select(i => (i.Position, i.CustomId)));
        Assert.Equal("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8.GetString(result.Items![0].Body));
    }

    [Theory]
    [InlineData("{\"custom_id\":\"a\",\"method\":\"GET\",\"url\":\"/v1/chat/completions\",\"body\":{}}", "Line 1 of the input file: 'method' must be \"POST\".")]
    [InlineData("{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}", "Line 1 of the input file: 'custom_id' must be a non-empty string.")]
    [InlineData("{\"custom_id\":\"a\\u0000\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}", "Line 1 of the input file: 'custom_id' has a control character.")]
    [InlineData("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":[]}", "Line 1 of the input file: 'body' must be a JSON object, the request's body.")]
    [InlineData("[1]", "Line 1 of the input file: not a JSON object.")]
    public void AFaultyLine_IsNamedWithItsLine(string line, string error)
    {
        var result = OpenAI(Line("first") + "\n" + line);

        Assert.Null(result.Items);
        Assert.Equal(error.Replace("Line 1", "Line 2", StringComparison.Ordinal), result.Error);
        Assert.Equal("input_file_id", result.Param);
    }

    [Fact]
    public void ABatchsModel_IsTheOneModelEveryRequestNames_InEitherApi()
    {
        static BatchInput.Result Anthropic(params string[] models) => BatchInput.ReadAnthropic(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            requests = models.Select((m, i) => new { custom_id = $"r{i}", @params = m.Length == 0 ? (object)new { max_tokens = 5 } : new { model = m, max_tokens = 5 } }),
        })), 10);

        Assert.Equal("gpt-4.1", OpenAI(Line("a") + "\n" + Line("b")).Model);
        Assert.Null(OpenAI(Line("a") + "\n" + Line("b", """{"model":"gpt-4o"}""")).Model);
        Assert.Null(OpenAI(Line("a") + "\n" + Line("b", "{}")).Model);
        Assert.Null(OpenAI(Line("a", """{"model":7}""")).Model);
        Assert.Equal("claude-sonnet-4", Anthropic("claude-sonnet-4", "claude-sonnet-4").Model);
        Assert.Null(Anthropic("claude-sonnet-4", "").Model);
        Assert.Equal(["claude-sonnet-4", "gpt-4.1"], Anthropic("claude-sonnet-4", "gpt-4.1").Models.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void MoreRequestsThanABatchMayHave_AreRefused_AsIsInvalidUtf8()
    {
        Assert.Contains("more than 2 requests", OpenAI(Line("a") + "\n" + Line("b") + "\n" + Line("c"), max: 2).Error, StringComparison.Ordinal);
        Assert.Equal("The input file is not valid UTF-8.", BatchInput.ReadOpenAI([0x7B, 0xFF, 0x7D], Chat, 10).Error);
    }

    [Fact]
    public void AnAnthropicCreate_BecomesItsRequests_AndItsFaultsAreNamedByIndex()
    {
        static BatchInput.Result Read(string json, int max = 10) => BatchInput.ReadAnthropic(Encoding.UTF8.GetBytes(json), max);

        var read = Read("""{"requests":[{"custom_id":"a-1","params":{"model":"m","max_tokens":5}},{"custom_id":"a_2","params":{}}]}""");
        Assert.Equal(["a-1", "a_2"], read.Items!.Select(i => i.CustomId));
        Assert.Equal("""{"model":"m","max_tokens":5}""", Encoding.UTF8.GetString(read.Items![0].Body));

        Assert.Equal("requests.1: 'custom_id' must be 1 to 64 letters, digits, underscores or hyphens.",
            Read("""{"requests":[{"custom_id":"a","params":{}},{"custom_id":"b c","params":{}}]}""").Error);
        Assert.Equal("requests.1: 'custom_id' \"a\" is used by another request of this batch; each must be unique.",
            Read("""{"requests":[{"custom_id":"a","params":{}},{"custom_id":"a","params":{}}]}""").Error);
        Assert.Equal("requests.0: 'params.stream' is true: a batch's requests are answered whole; leave 'stream' out.",
            Read("""{"requests":[{"custom_id":"a","params":{"stream":true}}]}""").Error);
        Assert.Equal("requests: List should have at least 1 item.", Read("""{"requests":[]}""").Error);
        Assert.Contains("at most 1 requests", Read("""{"requests":[{"custom_id":"a","params":{}},{"custom_id":"b","params":{}}]}""", max: 1).Error, StringComparison.Ordinal);
        Assert.Equal("requests", Read("""{"nothing":1}""").Param);
        Assert.Equal("The request body is not valid JSON.", Read("""{"requests":[""").Error);
        byte[] invalid = [.. "{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\""u8, 0xFF, .. "\"}}]}"u8];
        Assert.Equal("The request body is not valid UTF-8.", BatchInput.ReadAnthropic(invalid, 10).Error);
    }
}

public sealed class BatchDocumentsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    private static BatchItem Item(int position, string state, int? status = null, string? response = null) =>
        new(position, $"c-{position}", []) { State = state, Status = status, RequestId = status is null ? null : $"req_{position:D32}", Response = response is null ? null : Encoding.UTF8.GetBytes(response) };

    [Fact]
    public void OpenAIsResultFiles_SplitAnswers_From_ErrorsAndRequestsNotRun()
    {
        var (output, errors) = BatchDocuments.OpenAIResults(
            [Item(0, BatchItemStates.Succeeded, 200, """{"object":"chat.completion"}"""), Item(1, BatchItemStates.Errored, 404, """{"error":{"code":"model_not_found"}}"""),
             Item(2, BatchItemStates.Pending), Item(3, BatchItemStates.Expired)],
            notRun: BatchNotRun.Canceled);

        Assert.Equal("""{"id":"batch_req_00000000000000000000000000000000","custom_id":"c-0","response":{"status_code":200,"request_id":"req_00000000000000000000000000000000","body":{"object":"chat.completion"}},"error":null}""" + "\n",
            Encoding.UTF8.GetString(output!));
        var lines = Encoding.UTF8.GetString(errors!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("\"status_code\":404", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"code\":\"batch_cancelled\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"code\":\"batch_expired\"", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void OpenAIsErrorFile_GivesRequestsNotRunTheRefusalForTheWholeBatch_WithoutARequestId()
    {
        var refusal = new BatchNotRun(BatchItemStates.Errored, 401, Encoding.UTF8.GetBytes("""{"error":{"code":"invalid_api_key"}}"""));

        var (output, errors) = BatchDocuments.OpenAIResults([Item(0, BatchItemStates.Succeeded, 200, "{}"), Item(1, BatchItemStates.Pending)], refusal);

        Assert.NotNull(output);
        Assert.Equal("""{"id":"batch_req_1","custom_id":"c-1","response":{"status_code":401,"request_id":null,"body":{"error":{"code":"invalid_api_key"}}},"error":null}""" + "\n",
            Encoding.UTF8.GetString(errors!));
    }

    [Fact]
    public void ABatch_IsWrittenInEachVendorsShape()
    {
        var batch = new BatchJob("batch_1", BatchApi.OpenAI, "acme", "key", "/v1/chat/completions", BatchStates.Ended, T0, T0.AddHours(24))
        {
            Ending = BatchEndings.Expired,
            EndedAt = T0.AddHours(24),
            Metadata = """{"job":"x"}""",
            Counts = new BatchCounts(0, 3, 1, 0, 2),
        };

        var openai = Write(json => BatchDocuments.WriteOpenAIBatch(json, batch));
        Assert.Equal(("expired", 6, 3, 3, "x"), (openai.GetProperty("status").GetString(), openai.GetProperty("request_counts").GetProperty("total").GetInt32(),
            openai.GetProperty("request_counts").GetProperty("completed").GetInt32(), openai.GetProperty("request_counts").GetProperty("failed").GetInt32(),
            openai.GetProperty("metadata").GetProperty("job").GetString()));
        Assert.Equal(T0.AddHours(24).ToUnixTimeSeconds(), openai.GetProperty("expired_at").GetInt64());

        var anthropic = Write(json => BatchDocuments.WriteMessageBatch(json, batch with { Api = BatchApi.Anthropic, State = BatchStates.Cancelling, Ending = null, EndedAt = null }, "http://x/results", T0));
        Assert.Equal(("canceling", 3L, 2L), (anthropic.GetProperty("processing_status").GetString(),
            anthropic.GetProperty("request_counts").GetProperty("succeeded").GetInt64(), anthropic.GetProperty("request_counts").GetProperty("expired").GetInt64()));
        Assert.Equal(JsonValueKind.Null, anthropic.GetProperty("results_url").ValueKind);
    }

    [Fact]
    public void AFailedBatch_IsWrittenAsOpenAIFailsOne_WithItsOneError_AndAnEndedMessageBatch()
    {
        var batch = new BatchJob("batch_1", BatchApi.OpenAI, "acme", "key", "/v1/chat/completions", BatchStates.Ended, T0, T0.AddHours(24))
        {
            Ending = BatchEndings.Failed,
            EndedAt = T0.AddMinutes(5),
            Failure = new BatchFailure("invalid_api_key", "This API key has been revoked."),
            Counts = new BatchCounts(0, 0, 2, 0, 0),
        };

        var openai = Write(json => BatchDocuments.WriteOpenAIBatch(json, batch));
        Assert.Equal(("failed", T0.AddMinutes(5).ToUnixTimeSeconds(), JsonValueKind.Null, JsonValueKind.Null),
            (openai.GetProperty("status").GetString(), openai.GetProperty("failed_at").GetInt64(), openai.GetProperty("completed_at").ValueKind, openai.GetProperty("expired_at").ValueKind));
        Assert.Equal("""{"object":"list","data":[{"code":"invalid_api_key","message":"This API key has been revoked.","param":null,"line":null}]}""",
            openai.GetProperty("errors").GetRawText());
        // Any other batch has none.
        Assert.Equal(JsonValueKind.Null, Write(json => BatchDocuments.WriteOpenAIBatch(json, batch with { Ending = BatchEndings.Completed, Failure = null })).GetProperty("errors").ValueKind);

        var anthropic = Write(json => BatchDocuments.WriteMessageBatch(json, batch with { Api = BatchApi.Anthropic }, "http://x/results", T0));
        Assert.Equal(("ended", 2L), (anthropic.GetProperty("processing_status").GetString(), anthropic.GetProperty("request_counts").GetProperty("errored").GetInt64()));
    }

    [Fact]
    public void AFile_ShowsWhenItExpires_OrNullWhenItNeverDoes()
    {
        var file = new StoredFile("file-1", "acme", "batch", "in.jsonl", 10, T0);

        Assert.Equal(JsonValueKind.Null, Write(json => BatchDocuments.WriteFile(json, file)).GetProperty("expires_at").ValueKind);
        Assert.Equal(T0.AddHours(2).ToUnixTimeSeconds(),
            Write(json => BatchDocuments.WriteFile(json, file with { ExpiresAt = T0.AddHours(2) })).GetProperty("expires_at").GetInt64());
    }

    [Fact]
    public void AMessageBatchPastItsRetention_IsArchivedThen()
    {
        var batch = new BatchJob("msgbatch_1", BatchApi.Anthropic, "acme", "key", "/v1/messages", BatchStates.Ended, T0, T0.AddHours(24))
        {
            Ending = BatchEndings.Completed,
            EndedAt = T0.AddHours(1),
            ArchivesAt = T0.AddDays(29),
        };

        string? ArchivedAt(BatchJob b, DateTimeOffset now) =>
            Write(json => BatchDocuments.WriteMessageBatch(json, b, "http://x/results", now)).GetProperty("archived_at").GetString();

        Assert.Null(ArchivedAt(batch, T0.AddDays(29).AddSeconds(-1)));
        Assert.Equal(T0.AddDays(29), DateTimeOffset.Parse(ArchivedAt(batch, T0.AddDays(29))!, System.Globalization.CultureInfo.InvariantCulture));
        // A batch that has not ended is not archived, whatever the time.
        Assert.Null(ArchivedAt(batch with { State = BatchStates.InProgress, Ending = null, EndedAt = null }, T0.AddDays(40)));
        // Made before batches were archived: never.
        Assert.Null(ArchivedAt(batch with { ArchivesAt = null }, T0.AddDays(400)));
    }

    [Theory]
    [InlineData("created_at", "3600", 3600)]
    [InlineData("created_at", "2592000", 2592000)]
    [InlineData("created_at", "3599", null)]
    [InlineData("created_at", "2592001", null)]
    [InlineData("created_at", "-3600", null)]
    [InlineData("created_at", "3600.5", null)]
    [InlineData("created_at", null, null)]
    [InlineData("last_active_at", "3600", null)]
    [InlineData(null, "3600", null)]
    public void AnExpiryPolicy_IsAnchoredAtCreation_OneHourTo30Days(string? anchor, string? seconds, int? expected)
    {
        var (after, error) = FileExpiry.Read(anchor, seconds, "expires_after", TimeSpan.FromDays(30));

        Assert.Equal(expected is { } s ? TimeSpan.FromSeconds(s) : null, after);
        Assert.Equal(expected is null, error is not null);
        if (error is not null)
        {
            Assert.StartsWith(anchor == "created_at" ? "'expires_after.seconds'" : "'expires_after.anchor'", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnExpiryPolicy_IsAtMostTheOperatorsRetention_AndAnObjectWithANumber()
    {
        Assert.Contains("from 3600 to 604800", FileExpiry.Read("created_at", "604801", "expires_after", TimeSpan.FromDays(7)).Error, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromDays(7), FileExpiry.Read("created_at", "604800", "expires_after", TimeSpan.FromDays(7)).After);
        // An operator keeping files longer than OpenAI does still lets a client ask for no more than OpenAI allows.
        Assert.NotNull(FileExpiry.Read("created_at", "2592001", "expires_after", TimeSpan.FromDays(90)).Error);

        static (TimeSpan? After, string? Error) Read(string json) =>
            FileExpiry.Read(JsonDocument.Parse(json).RootElement, "output_expires_after", TimeSpan.FromDays(30));

        Assert.Equal(TimeSpan.FromHours(2), Read("""{"anchor":"created_at","seconds":7200}""").After);
        Assert.StartsWith("'output_expires_after.seconds'", Read("""{"anchor":"created_at","seconds":"7200"}""").Error, StringComparison.Ordinal);
        Assert.StartsWith("'output_expires_after' must be an object", Read("7200").Error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAnthropicResultLine_CarriesTheMessageOrTheError_AsAnswered()
    {
        Assert.Equal("""{"custom_id":"c-0","result":{"type":"succeeded","message":{"type":"message"}}}""",
            WriteText(json => BatchDocuments.WriteMessageBatchResult(json, Item(0, BatchItemStates.Succeeded, 200, """{"type":"message"}"""))));
        Assert.Equal("""{"custom_id":"c-1","result":{"type":"errored","error":{"type":"error"}}}""",
            WriteText(json => BatchDocuments.WriteMessageBatchResult(json, Item(1, BatchItemStates.Errored, 400, """{"type":"error"}"""))));
        Assert.Equal("""{"custom_id":"c-2","result":{"type":"canceled"}}""", WriteText(json => BatchDocuments.WriteMessageBatchResult(json, Item(2, BatchItemStates.Canceled))));
    }

    private static JsonElement Write(Action<Utf8JsonWriter> write) => JsonDocument.Parse(WriteText(write)).RootElement.Clone();

    private static string WriteText(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
