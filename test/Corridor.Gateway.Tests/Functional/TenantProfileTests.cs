using System.Net;
using System.Text;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>The admin gateway with a small denied-party list imported, as <c>corridor screening import</c> would.</summary>
public sealed class ScreenedGatewayFixture : AdminGatewayFixture
{
    protected override async Task<LiveGateway> StartAsync()
    {
        var live = await base.StartAsync();
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await AdminChangesSeed.ImportAsync(live.Store, cts.Token);
        return live;
    }
}

/// <summary>The tenant profile through the admin API: screening, review, what the front door then does, and the audit records left.</summary>
public sealed class TenantProfileTests(ScreenedGatewayFixture fixture) : IClassFixture<ScreenedGatewayFixture>, IDisposable
{
    private readonly HttpClient _admin = fixture.Admin();

    private LiveGateway Stack => fixture.Live;

    public void Dispose() => _admin.Dispose();

    [Fact]
    public async Task PostTenant_TakesTheProfile_AndTheViewShowsIt()
    {
        using var response = await PostAsync("/admin/tenants", """
            {"id":"acme-lab","legal_name":"Acme Logistics Pte. Ltd.","country":"sg","controlling_country":"US","entity_type":"research",
             "tier":"established","verification_expires_at":"2099-01-01","use_case":"support chat"}
            """);
        var view = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("SG", view.GetProperty("country").GetString());
        Assert.Equal("US", view.GetProperty("controlling_country").GetString());
        Assert.Equal("research", view.GetProperty("entity_type").GetString());
        Assert.Equal("established", view.GetProperty("effective_tier").GetString());
        Assert.Equal("clear", view.GetProperty("denied_party").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("screening_match").ValueKind);
        var stored = (await Stack.Store.GetTenantAsync("acme-lab", CancellationToken.None).WithTimeout())!;
        Assert.Equal((EntityType.Research, VettingTier.Established, "support chat"), (stored.EntityType, stored.Tier, stored.UseCase));
        var record = Assert.Single(await AuditAsync("acme-lab"));
        Assert.Equal((AuditActors.AdminApi, AuditActions.TenantCreate), (record.Actor, record.Action));
    }

    [Fact]
    public async Task PostTenant_WithBadFields_Is400WithEveryProblem()
    {
        using var response = await PostAsync("/admin/tenants", """{"id":"Bad Id","legal_name":"X","country":"XX","tier":"gold"}""");
        var body = await ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("tenant id 'Bad Id' is not valid", body, StringComparison.Ordinal);
        Assert.Contains("'XX' is not an ISO 3166-1", body, StringComparison.Ordinal);
        Assert.Contains("tier 'gold'", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PatchTenant_ChangesTheGivenFields_NullClears_AndTheKeyCacheSeesItAtOnce()
    {
        (await PostAsync("/admin/tenants", """{"id":"zeta","legal_name":"Zeta GmbH","country":"DE","use_case":"chat"}""")).Dispose();
        var secret = await Stack.AddTenantWithKeyAsync("zeta", "DE");

        using var response = await PatchAsync("/admin/tenants/zeta", """{"tier":"strategic","use_case":null}""");
        var view = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("strategic", view.GetProperty("tier").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("use_case").ValueKind);
        var keys = (Corridor.Gateway.Authentication.KeyCache)Stack.Gateway.Services.GetService(typeof(Corridor.Gateway.Authentication.KeyCache))!;
        Assert.Equal(Corridor.Gateway.Authentication.AuthenticationResult.Authenticated, keys.Authenticate(secret, out var authenticated));
        Assert.Equal(VettingTier.Strategic, authenticated!.Tenant.Tier);
        var update = (await AuditAsync("zeta"))[^1];
        Assert.Equal(AuditActions.TenantUpdate, update.Action);
        Assert.Contains("\"tier\":{\"from\":\"unverified\",\"to\":\"strategic\"}", update.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"denied_party":"clear"}""", "only through a review")]
    [InlineData("""{"id":"other"}""", "Unknown or read-only field 'id'")]
    [InlineData("""{"tier":5}""", "must be a string or null")]
    [InlineData("""{"tier":"gold"}""", "tier 'gold'")]
    [InlineData("[]", "Send a JSON object")]
    public async Task PatchTenant_WithABadBody_Is400(string body, string message)
    {
        using var response = await PatchAsync("/admin/tenants/acme", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await ErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PatchTenant_OfAnUnknownTenant_Is404()
    {
        using var response = await PatchAsync("/admin/tenants/ghost", """{"tier":"basic"}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task AMatchingTenant_IsPending_WithTheMatchInTheResponse_AndAReviewConfirmsIt()
    {
        using var created = await PostAsync("/admin/tenants", """{"id":"hw","legal_name":"Hua Wei Technologies Pte Ltd","country":"SG","controlling_country":"CN"}""");
        var view = await JsonAsync(created);
        using var noNote = await PostAsync("/admin/tenants/hw/denied-party-review", """{"decision":"confirm"}""");
        using var reviewed = await PostAsync("/admin/tenants/hw/denied-party-review", """{"decision":"confirm","note":"Subsidiary per the registry"}""");
        var after = await JsonAsync(reviewed);

        Assert.Equal("pending", view.GetProperty("denied_party").GetString());
        Assert.Equal("Huawei Technologies Co., Ltd.", view.GetProperty("screening_match").GetProperty("listed_name").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, noNote.StatusCode);
        Assert.Equal(HttpStatusCode.OK, reviewed.StatusCode);
        Assert.Equal("confirmed", after.GetProperty("denied_party").GetString());
        Assert.Equal(
            [AuditActions.TenantCreate, AuditActions.DeniedPartyFlag, AuditActions.DeniedPartyReview],
            (await AuditAsync("hw")).Select(r => r.Action));
    }

    [Fact]
    public async Task APendingTenantsKey_IsRefusedWithDeniedParty_InBothDialects_UntilAReviewClearsIt()
    {
        (await PostAsync("/admin/tenants", """{"id":"volga","legal_name":"Volga Petro Trading","country":"RU","tier":"established","verification_expires_at":"2099-01-01"}""")).Dispose();
        var keyTenant = await Stack.Store.GetTenantAsync("volga", CancellationToken.None).WithTimeout();
        Assert.Equal(DeniedPartyStatus.Pending, keyTenant!.DeniedParty);
        using var issued = await PostAsync("/admin/keys", """{"tenant":"volga","name":"screened"}""");
        var secret = (await JsonAsync(issued)).GetProperty("secret").GetString()!;

        var openAI = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => Stack.OpenAI(secret).GetChatClient("gpt-4.1")
            .CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Hello.")], null, default).WithTimeout());
        var anthropic = await Assert.ThrowsAnyAsync<global::Anthropic.Exceptions.AnthropicApiException>(() =>
            Stack.Anthropic(secret).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "Hello.")).WithTimeout());
        var modelsWhilePending = (await Stack.OpenAI(secret).GetOpenAIModelClient().GetModelsAsync().WithTimeout()).Value;
        using (var cleared = await PostAsync("/admin/tenants/volga/denied-party-review", """{"decision":"clear","note":"Different company: registry number checked"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }
        var served = await Stack.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Hello again.")], null, default).WithTimeout();

        Assert.Equal(403, openAI.Status);
        Assert.Contains("denied_party", openAI.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, anthropic.StatusCode);
        Assert.Contains("denied_party", anthropic.ResponseBody, StringComparison.Ordinal);
        Assert.Empty(modelsWhilePending);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, served.Value.FinishReason);
    }

    [Fact]
    public async Task KeysIssuedAndRevoked_ThroughTheApi_AreAudited()
    {
        using var issued = await PostAsync("/admin/keys", """{"tenant":"acme","name":"ci"}""");
        var keyId = (await JsonAsync(issued)).GetProperty("key").GetProperty("id").GetString()!;
        using var revoked = await PostAsync($"/admin/keys/{keyId}/revoke", "");

        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal([AuditActions.KeyIssue, AuditActions.KeyRevoke], (await AuditAsync(keyId)).Select(r => r.Action));
        var all = await Stack.Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.True(AuditVerifier.Verify(all).IsValid);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _admin.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json")).WithTimeout();

    private Task<HttpResponseMessage> PatchAsync(string path, string json) =>
        _admin.PatchAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json")).WithTimeout();

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
        return doc.RootElement.Clone();
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response) =>
        (await JsonAsync(response)).GetProperty("error").GetProperty("message").GetString()!;

    private Task<IReadOnlyList<AuditRecord>> AuditAsync(string subject) =>
        Stack.Store.SearchAuditAsync(new AuditQuery(subject), CancellationToken.None).WithTimeout();
}

/// <summary>Puts a small made-up list into the store, as <c>corridor screening import</c> would.</summary>
internal static class AdminChangesSeed
{
    public static Task ImportAsync(ICorridorStore store, CancellationToken cancellationToken)
    {
        var read = DeniedPartyCsv.Parse(new StringReader("""
            name,aliases,country,program
            "Huawei Technologies Co., Ltd.",Huawei,CN,EXPORT-CONTROL
            Volga Petroleum Trading OOO,Volga Petro,RU,SANCTIONS-RU
            """));
        return Corridor.Storage.Compliance.AdminChanges.ImportDeniedPartiesAsync(
            store, read, "seed.csv", new string('0', 64), "test", DateTimeOffset.UtcNow, cancellationToken);
    }
}
