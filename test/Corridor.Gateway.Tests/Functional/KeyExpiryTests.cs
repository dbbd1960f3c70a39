using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Core.Audit;
using Corridor.Storage;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A key issued to expire works until its time and is refused from then on, in each dialect, as a revoked key is; on a
/// fake clock, so the gateway's own time is what passes.
/// </summary>
public sealed class KeyExpiryTests : IAsyncLifetime
{
    private readonly string _tokenEnv = "CORRIDOR_TEST_ADMIN_" + Guid.NewGuid().ToString("N");
    private readonly string _adminToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    private FakeClock _clock = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_tokenEnv, _adminToken);
        _live = await LiveGateway.StartOnFakeClockAsync(out _clock, adminTokenEnv: _tokenEnv);
    }

    public async Task DisposeAsync()
    {
        await _live.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenEnv, null);
    }

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

    /// <summary>
    /// An expiry changed through the admin API takes effect before the response, on the gateway's own clock: lengthened, a key
    /// works past its first expiry; removed, past the second; shortened, it stops at the new time (hours, not days: the fake
    /// clock fires every periodic timer of the gateway for each period it passes). Times not later than
    /// now, revoked keys and unknown keys are refused, and each change is audited.
    /// </summary>
    [Fact]
    public async Task AKeysExpiry_ChangedThroughTheAdminApi_IsWhatTheGatewayHonours_AndAudited()
    {
        var secret = await _live.AddTenantWithKeyAsync("extended", "SG", keyExpiresAt: _clock.GetUtcNow().AddHours(1));
        var keyId = Assert.Single(await _live.Store.ListKeysAsync("extended", default).WithTimeout()).Id;
        var revokedSecret = await _live.AddTenantWithKeyAsync("gone", "SG");
        var revokedId = Assert.Single(await _live.Store.ListKeysAsync("gone", default).WithTimeout()).Id;
        await _live.Store.RevokeKeyAsync(revokedId, _clock.GetUtcNow(), default).WithTimeout();
        using var admin = _live.Http(_adminToken);
        var chat = _live.OpenAI(secret).GetChatClient("gpt-4.1");

        using var lengthened = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { expires_at = _clock.GetUtcNow().AddHours(3) }).WithTimeout();
        _clock.Advance(TimeSpan.FromHours(2));
        var servedPastTheFirstExpiry = await chat.CompleteChatAsync([new UserChatMessage("still good")]).WithTimeout();

        using var removed = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { expires_at = (DateTimeOffset?)null }).WithTimeout();
        _clock.Advance(TimeSpan.FromHours(2));
        var servedWithoutExpiry = await chat.CompleteChatAsync([new UserChatMessage("still good")]).WithTimeout();

        using var shortened = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { expires_at = "1h" }).WithTimeout();
        _clock.Advance(TimeSpan.FromHours(1));
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("too late")])).WithTimeout();

        using var past = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { expires_at = _clock.GetUtcNow().AddMinutes(-1) }).WithTimeout();
        using var ofRevoked = await admin.PatchAsJsonAsync($"/admin/keys/{revokedId}", new { expires_at = "30d" }).WithTimeout();
        using var unknown = await admin.PatchAsJsonAsync("/admin/keys/key_ffffffffffffffff", new { expires_at = "30d" }).WithTimeout();
        using var other = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { name = "renamed" }).WithTimeout();
        using var revokedStillRefused = await _live.Http(revokedSecret).GetAsync("/v1/models").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, lengthened.StatusCode);
        using (var body = JsonDocument.Parse(await lengthened.Content.ReadAsStringAsync()))
        {
            Assert.Equal(keyId, body.RootElement.GetProperty("id").GetString());
        }
        Assert.Equal(200, servedPastTheFirstExpiry.GetRawResponse().Status);
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        using (var body = JsonDocument.Parse(await removed.Content.ReadAsStringAsync()))
        {
            Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("expires_at").ValueKind);
        }
        Assert.Equal(200, servedWithoutExpiry.GetRawResponse().Status);
        Assert.Equal(HttpStatusCode.OK, shortened.StatusCode);
        Assert.Equal(401, refused.Status);
        Assert.Contains("This API key has expired.", refused.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Contains("to stop a key now, revoke it", await past.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, ofRevoked.StatusCode);
        Assert.Contains("is revoked", await ofRevoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, revokedStillRefused.StatusCode);
        var audited = await _live.Store.SearchAuditAsync(new AuditQuery(keyId, AuditActions.KeyExpiry, 10), default).WithTimeout();
        Assert.Equal(3, audited.Count);
        Assert.All(audited, record => Assert.Equal(AuditActors.AdminApi, record.Actor));
    }
}
