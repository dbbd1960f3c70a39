using System.ClientModel;
using System.Net;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A key issued to expire works until its time and is refused from then on, in each dialect, as a revoked key is; on a
/// fake clock, so the gateway's own time is what passes.
/// </summary>
public sealed class KeyExpiryTests : IAsyncLifetime
{
    private FakeClock _clock = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync() => _live = await LiveGateway.StartOnFakeClockAsync(out _clock);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task AKeyPastItsExpiry_IsRefusedAs401InvalidApiKey_InEachDialect_AndNotBefore()
    {
        var secret = await _live.AddTenantWithKeyAsync("expiring", "SG", keyExpiresAt: _clock.GetUtcNow().AddHours(1));
        var chat = _live.OpenAI(secret).GetChatClient("gpt-4.1");

        var served = await chat.CompleteChatAsync([new UserChatMessage("still good")]).WithTimeout();
        _clock.Advance(TimeSpan.FromHours(1));
        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("too late")])).WithTimeout();
        var anthropic = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            _live.Anthropic(secret).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "too late"))).WithTimeout();
        using var models = await _live.Http(secret).GetAsync("/v1/models").WithTimeout();

        Assert.Equal(200, served.GetRawResponse().Status);
        Assert.Equal(401, openAI.Status);
        using (var body = JsonDocument.Parse(openAI.GetRawResponse()!.Content.ToString()))
        {
            Assert.Equal("invalid_api_key", body.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("This API key has expired.", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        Assert.Equal(HttpStatusCode.Unauthorized, anthropic.StatusCode);
        Assert.Contains("This API key has expired.", anthropic.ResponseBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }
}
