using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A gateway with the admin API on: its token sits in an environment variable of this fixture's own (named in the
/// catalog's <c>server.adminTokenEnv</c>), set before the gateway starts and cleared after, so no other test sees it.
/// Its store is SQLite, or a PostgreSQL database of the fixture's own when a subclass says so (<see cref="OnPostgres"/>).
/// </summary>
public class AdminGatewayFixture : LiveGatewayFixture
{
    private readonly string _tokenEnv = "CORRIDOR_FUNCTIONAL_ADMIN_TOKEN_" + Guid.NewGuid().ToString("N");
    private FixtureDatabase? _database;

    public string AdminToken { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    /// <summary>Whether the store is a PostgreSQL database made for this fixture (before the gateway starts; dropped after it stops).</summary>
    protected virtual bool OnPostgres => false;

    protected override async Task<LiveGateway> StartAsync()
    {
        Environment.SetEnvironmentVariable(_tokenEnv, AdminToken);
        if (OnPostgres)
        {
            _database = new FixtureDatabase();
            await _database.CreateAsync();
        }
        return await LiveGateway.StartAsync(simulator => Yaml(simulator, _tokenEnv) + (_database?.StorageYaml ?? ""), time: Time);
    }

    /// <summary>The gateway's clock: the system's, unless a fixture runs it on a fake one.</summary>
    protected virtual TimeProvider? Time => null;

    /// <summary>The gateway's configuration, with the admin token read from <paramref name="tokenEnv"/>.</summary>
    protected virtual string Yaml(Uri simulator, string tokenEnv) => TestCatalog.Yaml(simulator, tokenEnv);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenEnv, null);
        if (_database is not null)
        {
            await _database.DropAsync();
        }
    }

    /// <summary>An HTTP client for <c>/admin</c>, with the admin token unless told otherwise.</summary>
    public HttpClient Admin(AuthenticationHeaderValue? authorization = null)
    {
        var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = authorization ?? new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }
}

/// <summary>The operator's admin API: tenants, keys that work or stop working at once, usage, and its own token.</summary>
public sealed class AdminApiTests(AdminGatewayFixture fixture) : IClassFixture<AdminGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task CreatedTenantsKey_WorksAtOnce_ForBothClients()
    {
        using var admin = fixture.Admin();

        using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id = "initech", legal_name = "Initech Ltd.", country = "us" }).WithTimeout();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (var tenant = await JsonAsync(created))
        {
            Assert.Equal("initech", tenant.RootElement.GetProperty("id").GetString());
            Assert.Equal("Initech Ltd.", tenant.RootElement.GetProperty("legal_name").GetString());
            Assert.Equal("US", tenant.RootElement.GetProperty("country").GetString());
        }
        var (secret, keyId) = await IssueKeyAsync(admin, "initech");
        Assert.StartsWith("key_", keyId, StringComparison.Ordinal);

        // No waiting: the admin API refreshes the key cache before it answers.
        var completion = (await Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("First call.")], null, default).WithTimeout()).Value;
        var message = await Live.Anthropic(secret).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "First call.")).WithTimeout();

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("end_turn", message.StopReason?.Raw());
    }

    [Fact]
    public async Task ListingKeys_ShowsTheirIdsAndPrefixes_ButNeverTheHashOrSecret()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "listed-co");
        var (secret, keyId) = await IssueKeyAsync(admin, "listed-co");
        var stored = await Live.Store.GetKeyAsync(keyId, default).WithTimeout();
        Assert.NotNull(stored);

        using var listed = await admin.GetAsync("/admin/keys?tenant=listed-co").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var body = await listed.Content.ReadAsStringAsync().WithTimeout();
        using var keys = JsonDocument.Parse(body);
        var key = Assert.Single(keys.RootElement.EnumerateArray());
        Assert.Equal(keyId, key.GetProperty("id").GetString());
        Assert.Equal("listed-co", key.GetProperty("tenant").GetString());
        Assert.Equal(stored.Prefix, key.GetProperty("prefix").GetString());
        Assert.StartsWith(stored.Prefix, secret, StringComparison.Ordinal);
        Assert.False(key.TryGetProperty("hash", out _));
        Assert.False(key.TryGetProperty("secret", out _));
        Assert.DoesNotContain(stored.Hash, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokingAKey_StopsItAtOnce()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "revoked-at-once");
        var (secret, keyId) = await IssueKeyAsync(admin, "revoked-at-once");
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        Assert.Equal(ChatFinishReason.Stop, (await chat.CompleteChatAsync([new UserChatMessage("Before.")], null, default).WithTimeout()).Value.FinishReason);

        using var revoked = await admin.PostAsync($"/admin/keys/{keyId}/revoke", null).WithTimeout();

        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        using (var key = await JsonAsync(revoked))
        {
            Assert.Equal(keyId, key.RootElement.GetProperty("id").GetString());
            Assert.Equal(JsonValueKind.String, key.RootElement.GetProperty("revoked_at").ValueKind);
        }
        // No waiting: the very next request is refused, in both dialects.
        var openAI = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            chat.CompleteChatAsync([new UserChatMessage("After.")], null, default).WithTimeout());
        Assert.Equal(401, openAI.Status);
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() =>
            Live.Anthropic(secret).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "After.")).WithTimeout());
    }

    [Fact]
    public async Task Usage_SaysHowMuchOfEachTenantsInputThePromptCacheServedAndTook()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "usage-cached");
        var (secret, _) = await IssueKeyAsync(admin, "usage-cached");
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        var system = new SystemChatMessage(PromptCacheTests.Instructions("usage-cached"));
        await chat.CompleteChatAsync([system, new UserChatMessage("Where is my parcel?")], null, default).WithTimeout();
        var cached = (await chat.CompleteChatAsync([system, new UserChatMessage("And my invoice?")], null, default).WithTimeout()).Value.Usage.InputTokenDetails.CachedTokenCount;
        var writes = (await Live.Anthropic(secret).Messages.Create(PromptCacheTests.CachedAsk("usage-cached", "Where is my parcel?")).WithTimeout()).Usage.CacheCreationInputTokens!.Value;
        Assert.InRange(cached, 1024, long.MaxValue);
        Assert.InRange(writes, 1024, long.MaxValue);
        await Live.LedgerRowAsync(r => r.TenantId == "usage-cached" && r.CacheWriteTokens > 0);
        await Live.LedgerRowAsync(r => r.TenantId == "usage-cached" && r.CacheReadTokens > 0);

        using var response = await admin.GetAsync("/admin/usage").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var usage = await JsonAsync(response);
        var totals = usage.RootElement.EnumerateArray().Where(t => t.GetProperty("tenant").GetString() == "usage-cached")
            .ToDictionary(t => t.GetProperty("model").GetString()!, t => (Cached: t.GetProperty("input_cached_tokens").GetInt64(), Writes: t.GetProperty("input_cache_write_tokens").GetInt64()));
        Assert.Equal(((long)cached, 0L), totals["gpt-4.1"]);
        Assert.Equal((0L, writes), totals["claude-sonnet-4"]);
    }

    [Fact]
    public async Task Usage_ReportsEachTenantsBillableTotals()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "usage-co");
        var (secret, _) = await IssueKeyAsync(admin, "usage-co");
        var result = await Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Count me.")], null, default).WithTimeout();
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var requestId));
        await Live.LedgerRowAsync(requestId!);

        using var response = await admin.GetAsync("/admin/usage").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var usage = await JsonAsync(response);
        var total = Assert.Single(usage.RootElement.EnumerateArray(), t => t.GetProperty("tenant").GetString() == "usage-co");
        var seen = result.Value.Usage;
        Assert.Equal("gpt-4.1", total.GetProperty("model").GetString());
        Assert.Equal(1, total.GetProperty("requests").GetInt64());
        Assert.Equal(seen.InputTokenCount, total.GetProperty("input_tokens").GetInt64());
        Assert.Equal(seen.OutputTokenCount, total.GetProperty("output_tokens").GetInt64());
        Assert.Equal((seen.InputTokenCount * 2.00m + seen.OutputTokenCount * 8.00m) / 1_000_000m,
            decimal.Parse(total.GetProperty("cost").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ResidencyReport_ShowsVendorRegionAndModel_OfServedRequests()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "residency-co");
        var (secret, _) = await IssueKeyAsync(admin, "residency-co");
        var result = await Live.OpenAI(secret).GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("Where am I served?")], null, default).WithTimeout();
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var requestId));
        await Live.LedgerRowAsync(requestId!);

        using var json = await admin.GetAsync("/admin/reports/residency?tenant=residency-co").WithTimeout();
        using var csv = await admin.GetAsync("/admin/reports/residency?tenant=residency-co&format=csv").WithTimeout();
        using var unknown = await admin.GetAsync("/admin/reports/residency?tenant=nobody").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        using var report = await JsonAsync(json);
        var row = Assert.Single(report.RootElement.GetProperty("usage").EnumerateArray());
        Assert.Equal("openai", row.GetProperty("vendor").GetString());
        Assert.Equal("jp-east", row.GetProperty("region").GetString());
        Assert.Equal("flaky", row.GetProperty("model").GetString());
        Assert.Equal(1, row.GetProperty("requests").GetInt64());
        Assert.StartsWith("section,vendor,region,model", await csv.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Theory]
    [InlineData("/admin/reports/spend?period=day&from=0001-01-01")]
    [InlineData("/admin/reports/revenue?period=quarter&from=0001-02-15")]
    [InlineData("/admin/reports/spend?period=day&to=9999-12-31T12:00:00Z")]
    [InlineData("/admin/reports/revenue?period=month&to=9999-12-15")]
    [InlineData("/admin/reports/spend?from=2026-07-01&to=2026-06-01")]
    [InlineData("/admin/reports/revenue?from=2026-06-01&to=2026-06-01")]
    [InlineData("/admin/reports/residency?tenant=acme&from=2026-07-01&to=2026-06-01")]
    [InlineData("/admin/usage?from=2026-07-01&to=2026-06-01")]
    [InlineData("/admin/usage?from=06/01/2026")]
    [InlineData("/admin/reports/spend?from=01.06.2026")]
    [InlineData("/admin/reports/spend?format=xml")]
    [InlineData("/admin/reports/residency?tenant=acme&format=pdf")]
    [InlineData("/admin/reports/residency")]
    [InlineData("/admin/reports/residency?tenant=")]
    public async Task Reports_RefuseQueriesTheyCannotAnswer_WithA400(string query)
    {
        // What the command line refuses (non-ISO dates, an empty period, an unknown format, a period past the calendar's
        // ends) is a 400 with a message here too, not a 500 nor a report of something else.
        using var admin = fixture.Admin();

        using var response = await admin.GetAsync(query).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = await JsonAsync(response);
        Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }


    [Theory]
    [InlineData("/admin/tenants/limits-acme/batches?limit=0", "limit must be a whole number from 1 to 1000.")]
    [InlineData("/admin/tenants/limits-acme/batches?limit=1001", "limit must be a whole number from 1 to 1000.")]
    [InlineData("/admin/tenants/limits-acme/batches?limit=-1", "limit must be a whole number from 1 to 1000.")]
    [InlineData("/admin/tenants/limits-acme/batches?limit=ten", "limit must be a whole number from 1 to 1000.")]
    [InlineData("/admin/reports/spend?top=1001", "top must be a whole number from 0 to 1000.")]
    [InlineData("/admin/reports/revenue?top=2.5", "top must be a whole number from 0 to 1000.")]
    public async Task ListLimits_OutOfTheCommandLinesRange_AreA400_NotClamped(string query, string message)
    {
        // corridor batches list --limit 0 is refused (1 to 1000), so the admin API does not answer it with one batch.
        await Live.AddTenantWithKeyAsync("limits-acme", "SG").WithTimeout();
        using var admin = fixture.Admin();

        using var response = await admin.GetAsync(query).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = await JsonAsync(response);
        Assert.Equal(message, error.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("1")]
    [InlineData("1000")]
    [InlineData("")]
    public async Task ListLimits_WithinTheRange_OrLeftOut_AreAnswered(string limit)
    {
        await Live.AddTenantWithKeyAsync("limits-initech", "SG").WithTimeout();
        using var admin = fixture.Admin();

        using var response = await admin.GetAsync($"/admin/tenants/limits-initech/batches?limit={limit}").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
    [Fact]
    public async Task CreatingTheSameTenantAtOnce_Creates_ItOnce_AndTheRestAre409()
    {
        // The existence check and the insert are not one step: a create that loses the race must still be a 409, not a 500.
        using var admin = fixture.Admin();
        var ids = Enumerable.Range(0, 5).Select(i => $"racing-co-{i}").ToList();

        var responses = await Task.WhenAll(ids.SelectMany(id => Enumerable.Range(0, 8).Select(_ =>
            admin.PostAsJsonAsync("/admin/tenants", new { id, legal_name = id + " Ltd.", country = "SG" })))).WithTimeout();

        try
        {
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
            Assert.Equal(ids.Count, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    public static TheoryData<string?, string?> RefusedAuthorizations => new()
    {
        { null, null },
        { "Bearer", "not-the-admin-token" },
        { "Basic", "YWRtaW46YWRtaW4=" },
        { "Bearer", "" },
    };

    [Theory]
    [MemberData(nameof(RefusedAuthorizations))]
    public async Task WrongOrMissingAdminToken_IsA401_AndChangesNothing(string? scheme, string? token)
    {
        using var admin = fixture.Admin();
        admin.DefaultRequestHeaders.Authorization = scheme is null ? null : new AuthenticationHeaderValue(scheme, token);

        using var list = await admin.GetAsync("/admin/tenants").WithTimeout();
        using var create = await admin.PostAsJsonAsync("/admin/tenants", new { id = "intruder", legal_name = "Intruder Ltd.", country = "SG" }).WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
        using (var error = await JsonAsync(create))
        {
            Assert.Contains("admin token", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Null(await Live.Store.GetTenantAsync("intruder", default).WithTimeout());
    }

    [Fact]
    public async Task ATenantsApiKey_IsNotAnAdminToken()
    {
        using var admin = fixture.Admin(new AuthenticationHeaderValue("Bearer", Live.Secret));

        using var response = await admin.GetAsync("/admin/keys").WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AKeyIssuedToExpire_ShowsItsExpiry_AndOneIssuedAlreadyExpiredIsRefused()
    {
        using var admin = fixture.Admin();
        await CreateTenantAsync(admin, "expiring-admin");
        var expires = DateTimeOffset.UtcNow.AddDays(30);

        using var issued = await admin.PostAsJsonAsync("/admin/keys", new { tenant = "expiring-admin", expires_at = expires }).WithTimeout();
        using var past = await admin.PostAsJsonAsync("/admin/keys", new { tenant = "expiring-admin", expires_at = DateTimeOffset.UtcNow.AddMinutes(-1) }).WithTimeout();
        using var garbled = await admin.PostAsJsonAsync("/admin/keys", new { tenant = "expiring-admin", expires_at = "soon" }).WithTimeout();
        using var aDate = await admin.PostAsJsonAsync("/admin/keys", new { tenant = "expiring-admin", expires_at = "2099-03-01" }).WithTimeout();
        using var listed = await JsonAsync(await admin.GetAsync("/admin/keys?tenant=expiring-admin").WithTimeout());

        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        using var body = await JsonAsync(issued);
        var key = body.RootElement.GetProperty("key");
        Assert.Equal(expires.ToUnixTimeMilliseconds(), key.GetProperty("expires_at").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Contains("expires_at must be later than now", await past.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, garbled.StatusCode);
        Assert.Contains("expires_at: 'soon'", (await garbled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, aDate.StatusCode);
        using (var dated = await JsonAsync(aDate))
        {
            // The start of that day in UTC, as the command line reads it, whatever the server's zone.
            Assert.Equal(new DateTimeOffset(2099, 3, 1, 0, 0, 0, TimeSpan.Zero), dated.RootElement.GetProperty("key").GetProperty("expires_at").GetDateTimeOffset());
        }
        Assert.Equal(2, listed.RootElement.GetArrayLength());
        Assert.Contains(key.GetProperty("id").GetString(), listed.RootElement.EnumerateArray().Select(k => k.GetProperty("id").GetString()));
        using var works = await Live.Http(body.RootElement.GetProperty("secret").GetString()).GetAsync("/v1/models").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, works.StatusCode);
    }

    private static async Task CreateTenantAsync(HttpClient admin, string id)
    {
        using var response = await admin.PostAsJsonAsync("/admin/tenants", new { id, legal_name = id + " Ltd.", country = "SG" }).WithTimeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<(string Secret, string KeyId)> IssueKeyAsync(HttpClient admin, string tenant)
    {
        using var response = await admin.PostAsJsonAsync("/admin/keys", new { tenant, name = "functional tests" }).WithTimeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var issued = await JsonAsync(response);
        var key = issued.RootElement.GetProperty("key");
        Assert.Equal(tenant, key.GetProperty("tenant").GetString());
        Assert.Equal("functional tests", key.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, key.GetProperty("revoked_at").ValueKind);
        return (issued.RootElement.GetProperty("secret").GetString()!, key.GetProperty("id").GetString()!);
    }

    private static async Task<JsonDocument> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
}
