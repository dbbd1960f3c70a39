using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Batches;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Files and results that expire as OpenAI's and Anthropic's do (docs/batches.md, "Retention"), on the gateway's fake clock:
/// OpenAI's expiry policies accepted or refused in its dialect, a file gone from the moment it expires (and its room given
/// back at once), the sweep removing its bytes, a batch finishing whose input is gone, result files expiring as the batch
/// asked, and a message batch still served past its retention while its results are not.
/// </summary>
public sealed class BatchRetentionTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;

    private FakeClock _clock = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync() => _live = await LiveGateway.StartOnFakeClockAsync(out _clock, """
        batches:
          maxFileBytes: 4096
          maxTenantBytes: 6000
          limitShare: 1
          resultsRetentionDays: 2
        """);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task ExpiryPolicies_AreOpenAIs_AndABadOneIsRefusedInItsDialect_NamingIt()
    {
        using var http = _live.Http();
        var oneHour = await ReadAsync(await UploadAsync(http, Requests(1), ("created_at", "3600")));
        Assert.Equal(oneHour.GetProperty("created_at").GetInt64() + 3600, oneHour.GetProperty("expires_at").GetInt64());
        // Unsaid, a file of a batch expires after 30 days, as OpenAI's do.
        var unsaid = await ReadAsync(await UploadAsync(http, Requests(1)));
        Assert.Equal(unsaid.GetProperty("created_at").GetInt64() + (30 * 86400), unsaid.GetProperty("expires_at").GetInt64());
        using (var read = await http.GetAsync($"/v1/files/{oneHour.GetProperty("id").GetString()}").WithTimeout())
        {
            Assert.Equal(oneHour.GetProperty("expires_at").GetInt64(), (await ReadAsync(read)).GetProperty("expires_at").GetInt64());
        }

        foreach (var (anchor, seconds) in new[] { ("last_active_at", "3600"), ("created_at", "3599"), ("created_at", "2592001"), ("created_at", "an hour") })
        {
            var error = await RefusedAsync(await UploadAsync(http, Requests(1), (anchor, seconds)));
            Assert.Equal("expires_after", error.GetProperty("param").GetString());
            Assert.Contains(anchor == "created_at" ? "expires_after.seconds" : "expires_after.anchor", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var input = oneHour.GetProperty("id").GetString()!;
        foreach (var policy in new object[] { new { anchor = "created_at", seconds = 60 }, new { anchor = "now", seconds = 3600 }, "3600" })
        {
            var error = await RefusedAsync(await http.PostAsJsonAsync("/v1/batches",
                new { input_file_id = input, endpoint = "/v1/chat/completions", completion_window = "24h", output_expires_after = policy }).WithTimeout());
            Assert.Equal("output_expires_after", error.GetProperty("param").GetString());
        }
        using var files = await http.GetAsync("/v1/files").WithTimeout();
        Assert.Equal(2, (await ReadAsync(files)).GetProperty("data").GetArrayLength());
        using var batches = await http.GetAsync("/v1/batches").WithTimeout();
        Assert.Equal(0, (await ReadAsync(batches)).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task AnExpiredFile_IsGoneFromTheMomentItExpires_ItsRoomBackAtOnce_AndTheSweepRemovesItsBytes()
    {
        using var http = _live.Http();
        var file = await ReadAsync(await UploadAsync(http, Padded(3500), ("created_at", "3600")));
        var id = file.GetProperty("id").GetString()!;
        var madeAt = DateTimeOffset.FromUnixTimeSeconds(file.GetProperty("created_at").GetInt64());
        Assert.Equal("storage_limit_exceeded", (await RefusedAsync(await UploadAsync(http, Padded(3500)))).GetProperty("code").GetString());

        _clock.Advance(TimeSpan.FromHours(1));

        foreach (var path in new[] { $"/v1/files/{id}", $"/v1/files/{id}/content" })
        {
            using var gone = await http.GetAsync(path).WithTimeout();
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Equal("file_not_found", (await ReadAsync(gone)).GetProperty("error").GetProperty("code").GetString());
        }
        // Nor can it be deleted, as a file that never existed: the sweep removes it.
        using (var delete = await http.DeleteAsync($"/v1/files/{id}").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
            Assert.Equal("file_not_found", (await ReadAsync(delete)).GetProperty("error").GetProperty("code").GetString());
        }
        using (var list = await http.GetAsync("/v1/files").WithTimeout())
        {
            Assert.Equal(0, (await ReadAsync(list)).GetProperty("data").GetArrayLength());
        }
        using (var batch = await http.PostAsJsonAsync("/v1/batches", new { input_file_id = id, endpoint = "/v1/chat/completions", completion_window = "24h" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, batch.StatusCode);
        }
        // Its bytes count no more, swept or not.
        using (var again = await UploadAsync(http, Padded(3500)))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        // The sweep (every few minutes of the gateway's clock) deletes it: read as of when it was made, it is not there.
        await TestTimeouts.UntilAsync(async () =>
        {
            _clock.Advance(BatchRetentionSweep.Interval);
            return await _live.Store.GetFileAsync("acme", id, withContent: false, madeAt, None) is null;
        });
    }

    [Fact]
    public async Task ABatchWhoseInputIsGoneBeforeItsRequestsRun_StillFinishes_AndItsResultsExpireAsItAsked()
    {
        // Two requests a minute, the upload and the creation among them: the batch's requests wait for the next minute.
        await _live.Store.AddTenantAsync(new Tenant("retain-held", "Retain Held Ltd.", "SG", _clock.GetUtcNow()), None).WithTimeout();
        Assert.True(await _live.Store.SetLimitsAsync(new SubjectLimits(LimitScope.Tenant, "retain-held", new Limits { RequestsPerMinute = 2 }), [], None).WithTimeout());
        var secret = await _live.AddTenantWithKeyAsync("retain-held", "SG").WithTimeout();
        using var http = _live.Http(secret);
        var input = (await ReadAsync(await UploadAsync(http, Requests(2), ("created_at", "3600")))).GetProperty("id").GetString()!;
        using var created = await http.PostAsJsonAsync("/v1/batches", new
        {
            input_file_id = input,
            endpoint = "/v1/chat/completions",
            completion_window = "24h",
            output_expires_after = new { anchor = "created_at", seconds = 7200 },
        }).WithTimeout();
        var batchId = (await ReadAsync(created)).GetProperty("id").GetString()!;

        // The input expires and is swept before any of the batch's requests has run: the batch holds its requests itself.
        Assert.Equal(1, (await _live.Store.RemoveExpiredBatchDataAsync(_clock.GetUtcNow().AddHours(1), None).WithTimeout()).Files);
        using (var gone = await http.GetAsync($"/v1/files/{input}").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        var held = await GetAsync(http, $"/v1/batches/{batchId}");
        Assert.Equal(("in_progress", 0), (held.GetProperty("status").GetString(), held.GetProperty("request_counts").GetProperty("completed").GetInt32()));

        JsonElement ended = default;
        await TestTimeouts.UntilAsync(async () =>
        {
            _clock.Advance(TimeSpan.FromSeconds(5));
            ended = await GetAsync(http, $"/v1/batches/{batchId}");
            return ended.GetProperty("status").GetString() != "in_progress";
        });
        Assert.Equal(("completed", 2), (ended.GetProperty("status").GetString(), ended.GetProperty("request_counts").GetProperty("completed").GetInt32()));
        Assert.Equal(input, ended.GetProperty("input_file_id").GetString());

        var outputId = ended.GetProperty("output_file_id").GetString()!;
        var output = await GetAsync(http, $"/v1/files/{outputId}");
        Assert.Equal(output.GetProperty("created_at").GetInt64() + 7200, output.GetProperty("expires_at").GetInt64());
        using (var content = await http.GetAsync($"/v1/files/{outputId}/content").WithTimeout())
        {
            Assert.Equal(2, (await content.Content.ReadAsStringAsync().WithTimeout()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }

        _clock.Advance(TimeSpan.FromHours(2));
        using (var expired = await http.GetAsync($"/v1/files/{outputId}/content").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
        }
        // The batch is still there, naming its files.
        Assert.Equal(outputId, (await GetAsync(http, $"/v1/batches/{batchId}")).GetProperty("output_file_id").GetString());
    }

    [Fact]
    public async Task AMessageBatchPastItsRetention_IsStillServed_ButItsResultsAreNot_AndItsBodiesAreRemoved()
    {
        using var http = _live.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var requests = Enumerable.Range(0, 2).Select(i => new
        {
            custom_id = $"m-{i}",
            @params = new { model = "gpt-4.1", max_tokens = 16, messages = new[] { new { role = "user", content = $"Question {i}" } } },
        });
        using var created = await http.PostAsJsonAsync("/v1/messages/batches", new { requests }).WithTimeout();
        var id = (await ReadAsync(created)).GetProperty("id").GetString()!;
        JsonElement ended = default;
        await TestTimeouts.UntilAsync(async () =>
        {
            ended = await GetAsync(http, $"/v1/messages/batches/{id}");
            return ended.GetProperty("processing_status").GetString() == "ended";
        });
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("archived_at").ValueKind);
        using (var results = await http.GetAsync($"/v1/messages/batches/{id}/results").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, results.StatusCode);
        }
        Assert.True(await _live.Store.GetStoredBatchBytesAsync("acme", _clock.GetUtcNow(), None).WithTimeout() > 0);

        // Two days after it was made (resultsRetentionDays: 2; Anthropic's 29 by default).
        _clock.Advance(TimeSpan.FromDays(2));

        var archived = await GetAsync(http, $"/v1/messages/batches/{id}");
        Assert.Equal(("ended", 2), (archived.GetProperty("processing_status").GetString(), archived.GetProperty("request_counts").GetProperty("succeeded").GetInt32()));
        Assert.Equal(DateTimeOffset.Parse(archived.GetProperty("created_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture).AddDays(2),
            DateTimeOffset.Parse(archived.GetProperty("archived_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        using (var results = await http.GetAsync($"/v1/messages/batches/{id}/results").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, results.StatusCode);
            var error = (await ReadAsync(results)).GetProperty("error");
            Assert.Equal("not_found_error", error.GetProperty("type").GetString());
            Assert.Contains("no longer available", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(0, await _live.Store.GetStoredBatchBytesAsync("acme", _clock.GetUtcNow(), None).WithTimeout());

        // The sweep empties its stored requests and answers; the batch and its counts stay.
        await TestTimeouts.UntilAsync(async () =>
        {
            _clock.Advance(BatchRetentionSweep.Interval);
            var items = await _live.Store.ReadBatchItemsAsync(id, None).ToListWithTimeoutAsync();
            return items.All(i => i.Body.Length == 0 && i.Response is null);
        });
        Assert.Equal(2, (await GetAsync(http, $"/v1/messages/batches/{id}")).GetProperty("request_counts").GetProperty("succeeded").GetInt32());
    }

    private static string Requests(int count) =>
        string.Join("\n", Enumerable.Range(0, count).Select(i => JsonSerializer.Serialize(new
        {
            custom_id = $"q-{i}",
            method = "POST",
            url = "/v1/chat/completions",
            body = new { model = "gpt-4.1", max_tokens = 16, messages = new[] { new { role = "user", content = $"Question {i}" } } },
        }))) + "\n";

    /// <summary>One request padded to <paramref name="bytes"/> bytes.</summary>
    private static string Padded(int bytes)
    {
        var line = Requests(1).TrimEnd('\n');
        return line.Replace("Question 0", new string('x', bytes - line.Length + "Question 0".Length), StringComparison.Ordinal);
    }

    /// <summary>An upload as OpenAI's SDKs send it, the expiry policy (when given) a form field for each of its properties.</summary>
    private static async Task<HttpResponseMessage> UploadAsync(HttpClient http, string jsonl, (string Anchor, string Seconds)? expiresAfter = null)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl)), "file", "requests.jsonl" },
        };
        if (expiresAfter is var (anchor, seconds))
        {
            form.Add(new StringContent(anchor), "expires_after[anchor]");
            form.Add(new StringContent(seconds), "expires_after[seconds]");
        }
        return await http.PostAsync("/v1/files", form).WithTimeout();
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync(response);
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).Clone();

    /// <summary>The error of a 400 in OpenAI's dialect.</summary>
    private static async Task<JsonElement> RefusedAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await ReadAsync(response)).GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            return error;
        }
    }
}
