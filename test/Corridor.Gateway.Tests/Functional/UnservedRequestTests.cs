using System.ClientModel;
using System.Net;
using System.Text.Json;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>A path Corridor does not serve, or a served one asked with another method: an error the client's SDK can read.</summary>
public sealed class UnservedRequestTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task AnEndpointCorridorDoesNotServe_Is404_InTheOpenAIDialect_ReadByTheSdk()
    {
        var images = Live.OpenAI().GetImageClient("gpt-image-1");
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => images.GenerateImageAsync("a parcel")).WithTimeout();

        Assert.Equal(404, refused.Status);
        using var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("unknown_url", error.GetProperty("code").GetString());
        Assert.Contains("POST /v1/images/generations", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("POST /v1/responses", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("POST /v1/messages/count_tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        // The batch APIs are served too: a message that leaves them out tells a developer to look elsewhere.
        Assert.Contains("/v1/files", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("/v1/batches", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("/v1/messages/batches", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(refused.GetRawResponse()!.Headers.Header("x-corridor-request-id"), refused.GetRawResponse()!.Headers.Header("x-request-id"));
        Assert.True(refused.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out _));
    }

    [Theory]
    [InlineData("GET", "/v1/chat/completions", false, "POST")]
    [InlineData("GET", "/v1/messages", true, "POST")]
    [InlineData("DELETE", "/v1/models/gpt-4.1", false, "GET")]
    [InlineData("POST", "/v1/models", true, "GET")]
    public async Task AServedPathAskedWithAnotherMethod_Is405_WithAllow_InTheClientsDialect(string method, string path, bool anthropic, string allowed)
    {
        using var http = Live.Http(Live.Secret);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (anthropic)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }

        using var response = await http.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (anthropic)
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal("method_not_allowed", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task AnUnknownPath_InTheAnthropicDialect_IsNotFoundError()
    {
        using var http = Live.Http(Live.Secret);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/complete");
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("not_found_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
