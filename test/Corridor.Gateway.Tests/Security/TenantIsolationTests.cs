using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Security;

/// <summary>
/// What one tenant's key can reach: every <c>/admin</c> route refuses it (and refuses no token, a wrong, partial, empty
/// or blank one, and the token anywhere but as a bearer token in <c>Authorization</c>);
/// <c>/v1/usage</c> shows the key's own tenant only, whatever the query says; a key one character off is unknown.
/// Which models a tenant sees is filtered by policy (PolicyTests.Restrictions_AreAppliedToTheForwardedRequest_AndModelsAreFiltered).
/// </summary>
public sealed class TenantIsolationTests(AdminGatewayFixture fixture) : IClassFixture<AdminGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task EveryAdminRoute_RefusesTenantKeys_NoToken_AndAWrongToken()
    {
        var routes = Live.Gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/admin", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: Fill(e.RoutePattern.RawText!))))
            .ToList();
        Assert.True(routes.Count >= 20, $"found only {routes.Count} admin routes");
        var token = Uri.EscapeDataString(fixture.AdminToken);
        var callers = new (string Name, string Query, Action<HttpRequestHeaders> Set)[]
        {
            ("tenant key as bearer", "", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Live.Secret)),
            ("tenant key as x-api-key", "", h => h.Add("x-api-key", Live.Secret)),
            ("no credential", "", _ => { }),
            ("wrong token", "", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Secrets.OneCharacterOff(fixture.AdminToken))),
            ("token prefix", "", h => h.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken[..8])),
            ("empty bearer", "", h => h.TryAddWithoutValidation("Authorization", "Bearer ")),
            ("whitespace bearer", "", h => h.TryAddWithoutValidation("Authorization", "Bearer \t   ")),
            ("token without Bearer", "", h => h.TryAddWithoutValidation("Authorization", fixture.AdminToken)),
            ("token as x-api-key", "", h => h.Add("x-api-key", fixture.AdminToken)),
            ("token in the query string", $"?token={token}&access_token={token}&admin_token={token}", _ => { }),
        };
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        foreach (var (method, path) in routes)
        {
            foreach (var (name, query, set) in callers)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path + query);
                set(request.Headers);
                if (method is "POST" or "PATCH" or "PUT")
                {
                    request.Content = JsonContent.Create(new { id = "intruder", tenant = "acme", name = "x", legal_name = "x", country = "us" });
                }
                using var response = await http.SendAsync(request).WithTimeout();
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with {name}: {(int)response.StatusCode}");
                Assert.DoesNotContain("acme", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }
        // Nothing any of them sent changed anything.
        using var admin = fixture.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/admin/tenants/intruder").WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task Usage_ShowsOnlyTheKeysOwnTenant_WhateverTheQuerySays()
    {
        var otherSecret = await Live.AddTenantWithKeyAsync("globex", "JP");
        await ChatAsync(Live.Secret, "gpt-4.1");
        await ChatAsync(otherSecret, "claude-sonnet-4");
        await ChatAsync(otherSecret, "claude-sonnet-4");
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await Live.Gateway.FlushLedgerAsync(cts.Token);
        var all = await Live.Store.GetUsageTotalsAsync(null, null, tenantId: null, cts.Token);

        foreach (var (secret, tenant, other) in new[] { (Live.Secret, "acme", "globex"), (otherSecret, "globex", "acme") })
        {
            using var http = Live.Http(secret);
            using var response = await http.GetAsync($"/v1/usage?tenant={other}&tenant_id={other}").WithTimeout();
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(text);
            Assert.Equal(tenant, body.RootElement.GetProperty("tenant").GetString());
            var shown = body.RootElement.GetProperty("data").EnumerateArray()
                .Select(r => (Model: r.GetProperty("model").GetString(), Requests: r.GetProperty("requests").GetInt64(), Input: r.GetProperty("input_tokens").GetInt64()))
                .OrderBy(r => r.Model, StringComparer.Ordinal).ToList();
            var own = all.Where(u => u.TenantId == tenant).Select(u => (Model: (string?)u.Model, u.Requests, Input: u.InputTokens)).OrderBy(r => r.Model, StringComparer.Ordinal).ToList();
            Assert.NotEmpty(own);
            Assert.Equal(own, shown);
            Assert.DoesNotContain(other, text, StringComparison.Ordinal);
            Assert.DoesNotContain("cost", text, StringComparison.OrdinalIgnoreCase);
        }
        using (var anonymous = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default })
        {
            using var refused = await anonymous.GetAsync("/v1/usage?tenant=acme").WithTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain("gpt-4.1", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/v1/usage?from=2026-07-01&to=2026-06-01", false)]
    [InlineData("/v1/usage?from=2026-06-01&to=2026-06-01", false)]
    [InlineData("/v1/usage?from=2026-06-01&to=2026-07-01", true)]
    public async Task Usage_RefusesARangeThatEndsBeforeItStarts_InTheClientsDialect(string path, bool fine)
    {
        using var http = Live.Http(Live.Secret);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request).WithTimeout();
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(fine ? HttpStatusCode.OK : HttpStatusCode.BadRequest, response.StatusCode);
        if (!fine)
        {
            using var body = JsonDocument.Parse(text);
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("from must be earlier than to", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AKeyOneCharacterOff_IsUnknown()
    {
        var offByOne = Secrets.OneCharacterOff(Live.Secret);
        using var http = Live.Http(offByOne);

        using var response = await http.GetAsync("/v1/models").WithTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_api_key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task ChatAsync(string secret, string model)
    {
        using var http = Live.Http(secret);
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Usage, please." } } }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>A route pattern with every parameter filled in (<c>/admin/keys/{id}/revoke</c> → <c>/admin/keys/x/revoke</c>).</summary>
    private static string Fill(string pattern) => System.Text.RegularExpressions.Regex.Replace(pattern, "\\{[^}]+\\}", "x");
}
