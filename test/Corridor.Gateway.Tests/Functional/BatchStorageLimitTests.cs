using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A tenant held to <c>batches.maxTenantBytes</c> of stored batch data (docs/batches.md): an upload, a batch or a message
/// batch that would pass it is refused in the client's dialect, nothing stored, and fits again once the tenant deletes what it no
/// longer needs. Another tenant's data does not count against it.
/// </summary>
public sealed class BatchStorageLimitTests : IAsyncLifetime
{
    private LiveGateway _live = null!;

    public async Task InitializeAsync() =>
        _live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + """

            batches:
              maxFileBytes: 4096
              maxTenantBytes: 6000
            """);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task UploadsAndMessageBatches_PastTheTenantsStorageLimit_AreRefused_UntilItDeletesWhatItKeeps()
    {
        var other = await _live.AddTenantWithKeyAsync("storage-other", "SG").WithTimeout();
        using var otherHttp = _live.Http(other);
        using (var elsewhere = await UploadAsync(otherHttp, 3500))
        {
            Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        }
        using var http = _live.Http();
        using var first = await UploadAsync(http, 3500);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetString();

        using (var second = await UploadAsync(http, 3500))
        {
            Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
            var error = (await second.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
            Assert.Equal(("invalid_request_error", "storage_limit_exceeded"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
            Assert.Contains("limit of 6000 bytes (3500 stored now)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // A message batch's requests are stored too: 3,000 bytes more is past the limit, in Anthropic's dialect.
        using var anthropic = _live.Http();
        anthropic.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        using (var batch = await anthropic.PostAsJsonAsync("/v1/messages/batches", MessageBatch(3000)).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
            var refused = await batch.Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
            Assert.Equal(("error", "invalid_request_error"), (refused.GetProperty("type").GetString(), refused.GetProperty("error").GetProperty("type").GetString()));
        }
        using (var files = await http.GetAsync("/v1/files").WithTimeout())
        {
            Assert.Single((await files.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("data").EnumerateArray());
        }

        // Deleted, the room is back.
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"/v1/files/{firstId}").WithTimeout()).StatusCode);
        using (var again = await anthropic.PostAsJsonAsync("/v1/messages/batches", MessageBatch(3000)).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
    }

    /// <summary>
    /// An OpenAI batch keeps its own copy of its requests beside its input file, so that copy counts: a second batch of one
    /// file, past the bound, is refused (before, nothing of a batch counted, and batches of one file could be made without end).
    /// </summary>
    [Fact]
    public async Task AnOpenAIBatch_CountsItsCopyOfTheRequests_SoASecondBatchOfOneFilePastTheLimitIsRefused()
    {
        using var http = _live.Http();
        using var upload = await UploadAsync(http, 2500);
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var fileId = (await upload.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetString();
        var create = new { input_file_id = fileId, endpoint = "/v1/chat/completions", completion_window = "24h" };

        using (var first = await http.PostAsJsonAsync("/v1/batches", create).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        using var second = await http.PostAsJsonAsync("/v1/batches", create).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        var error = (await second.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
        Assert.Equal("storage_limit_exceeded", error.GetProperty("code").GetString());
        using var batches = await http.GetAsync("/v1/batches").WithTimeout();
        Assert.Single((await batches.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("data").EnumerateArray());
    }

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient http, int bytes)
    {
        var line = """{"custom_id":"q-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4.1","messages":[{"role":"user","content":"PAD"}]}}""";
        var text = line.Replace("PAD", new string('x', bytes - line.Length + 3), StringComparison.Ordinal) + "\n";
        Assert.Equal(bytes + 1, Encoding.UTF8.GetByteCount(text));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(text[..^1])), "file", "requests.jsonl" },
        };
        return await http.PostAsync("/v1/files", form).WithTimeout();
    }

    /// <summary>A message batch of one request whose stored body is about <paramref name="bytes"/> long.</summary>
    private static object MessageBatch(int bytes) => new
    {
        requests = new[]
        {
            new { custom_id = "a-1", @params = new { model = "gpt-4.1", max_tokens = 16, messages = new[] { new { role = "user", content = new string('y', bytes) } } } },
        },
    };
}
