using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Admin;

/// <summary>The admin API on a real gateway: the tenant profile, screening, review and the audit records it leaves.</summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private readonly string _tokenVariable = "CORRIDOR_TEST_ADMIN_" + Guid.NewGuid().ToString("N");
    private readonly string _token = Guid.NewGuid().ToString("N");
    private LiveGateway _stack = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, _token);
        _stack = await LiveGateway.StartAsync(sim => TestCatalog.Yaml(sim).Replace("server:\n", $"server:\n  adminTokenEnv: {_tokenVariable}\n", StringComparison.Ordinal));
        _admin = _stack.Http(secret: "");
        _admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await AdminChangesSeed.ImportAsync(_stack.Store, cts.Token);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _stack.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenVariable, null);
    }

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
        var stored = (await _stack.Store.GetTenantAsync("acme-lab", CancellationToken.None).WithTimeout())!;
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
        var secret = await _stack.AddTenantWithKeyAsync("zeta", "DE");

        using var response = await PatchAsync("/admin/tenants/zeta", """{"tier":"strategic","use_case":null}""");
        var view = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("strategic", view.GetProperty("tier").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("use_case").ValueKind);
        var keys = (Corridor.Gateway.Authentication.KeyCache)_stack.Gateway.Services.GetService(typeof(Corridor.Gateway.Authentication.KeyCache))!;
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
    public async Task KeysIssuedAndRevoked_ThroughTheApi_AreAudited()
    {
        using var issued = await PostAsync("/admin/keys", """{"tenant":"acme","name":"ci"}""");
        var keyId = (await JsonAsync(issued)).GetProperty("key").GetProperty("id").GetString()!;
        using var revoked = await PostAsync($"/admin/keys/{keyId}/revoke", "");

        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal([AuditActions.KeyIssue, AuditActions.KeyRevoke], (await AuditAsync(keyId)).Select(r => r.Action));
        var all = await _stack.Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
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
        _stack.Store.SearchAuditAsync(new AuditQuery(subject), CancellationToken.None).WithTimeout();
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
