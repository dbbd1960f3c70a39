using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;
using Corridor.Simulator;
using Corridor.Storage;
using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Corridor.Tests.Replicas;

namespace Corridor.Tests;

/// <summary>
/// No secret — a tenant's API key, a vendor credential, the admin token — ever shows in what Corridor writes: a real
/// <c>corridor serve</c> (its output redirected, so its log is JSON) is driven through success, streaming, upstream
/// failures, wrong keys and wrong admin tokens; then its log, every response body and header, the admin reports,
/// <c>corridor export</c>, the CLI reports and a case's evidence bundle are searched for each secret.
/// </summary>
public sealed class SecretsTests : IAsyncLifetime, IDisposable
{
    private const string AdminTokenVariable = "CORRIDOR_SECRETS_TEST_ADMIN_TOKEN";
    private const string VendorVariable = "CORRIDOR_SECRETS_TEST_VENDOR_KEY";

    private readonly TempDirectory _folder = new();
    private readonly string _adminToken = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(20));
    private readonly string _vendorCredential = "vendor-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(20));
    private readonly StringBuilder _seen = new();
    private RunningSimulator _simulator = null!;
    private ServeProcess _serve = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0",
            new SimulatorOptions { TokenInterval = TimeSpan.Zero, RequiredApiKey = _vendorCredential }, CancellationToken.None).WithTimeout();
        var sim = _simulator.BaseAddress.ToString().TrimEnd('/');
        _config = _folder.File("corridor.yaml");
        await File.WriteAllTextAsync(_config, $$"""
            server:
              adminTokenEnv: {{AdminTokenVariable}}
              streamIdleTimeoutSeconds: 5
            storage:
              sqlite: ./corridor.db
            vendors:
              - { id: openai, kind: openai, baseUrl: "{{sim}}/v1" }
              - { id: anthropic, kind: anthropic, baseUrl: "{{sim}}/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
              - { id: claude-sonnet-4, vendor: anthropic, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
              - { id: dead, vendor: openai, capabilities: [chat], contextWindow: 8192 }
            deployments:
              - { id: gpt-4.1-sg, model: gpt-4.1, region: sg, credentialEnv: {{VendorVariable}}, price: { input: 2, output: 8 } }
              - { id: claude-us, model: claude-sonnet-4, region: us-east, credentialEnv: {{VendorVariable}}, price: { input: 3, output: 15 } }
              - { id: dead-sg, model: dead, region: sg, priority: 1, endpoint: "{{sim}}/x/status=500/v1", credentialEnv: {{VendorVariable}}, price: { input: 1, output: 1 } }
              - { id: dead-jp, model: dead, region: jp-east, priority: 2, endpoint: "http://127.0.0.1:9/v1", credentialEnv: {{VendorVariable}}, price: { input: 1, output: 1 } }
            """);
        _serve = await ServeProcess.StartAsync(_config, new Dictionary<string, string>
        {
            [AdminTokenVariable] = _adminToken,
            [VendorVariable] = _vendorCredential,
            ["Logging__LogLevel__Default"] = "Information",
        });
    }

    public async Task DisposeAsync()
    {
        await (_serve?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_simulator?.DisposeAsync() ?? ValueTask.CompletedTask);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task NoSecret_AppearsInLogsErrorsReportsExportsOrEvidence()
    {
        using var admin = Client(new AuthenticationHeaderValue("Bearer", _adminToken));
        await SendAsync(admin, HttpMethod.Post, "/admin/tenants", new { id = "acme", legal_name = "Acme Ltd.", country = "SG" });
        using var issued = await admin.PostAsJsonAsync("/admin/keys", new { tenant = "acme", name = "main" }).WithTimeout();
        using var issuedBody = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        // The one place a key is ever shown: the issuing response. It is not added to what is searched.
        var secret = issuedBody.RootElement.GetProperty("secret").GetString()!;
        var keyId = issuedBody.RootElement.GetProperty("key").GetProperty("id").GetString()!;
        var wrongKey = Secrets.OneCharacterOff(secret);

        using var tenant = Client(new AuthenticationHeaderValue("Bearer", secret));
        await SendAsync(tenant, HttpMethod.Post, "/v1/chat/completions", new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } });
        await SendAsync(tenant, HttpMethod.Post, "/v1/chat/completions", new { model = "gpt-4.1", stream = true, messages = new[] { new { role = "user", content = "hi" } } });
        await SendAsync(tenant, HttpMethod.Post, "/v1/messages", new { model = "claude-sonnet-4", max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } });
        await SendAsync(tenant, HttpMethod.Post, "/v1/chat/completions", new { model = "dead", messages = new[] { new { role = "user", content = "hi" } } });
        await SendAsync(tenant, HttpMethod.Post, "/v1/chat/completions", new { model = "nope", messages = new[] { new { role = "user", content = "hi" } } });
        await SendAsync(tenant, HttpMethod.Post, "/v1/chat/completions", "{\"model\": \"gpt-4.1\", \"messages\": [");
        await SendAsync(tenant, HttpMethod.Get, "/v1/models", null);
        await SendAsync(tenant, HttpMethod.Get, "/v1/usage", null);
        await SendAsync(tenant, HttpMethod.Get, "/admin/tenants", null);
        using (var wrong = Client(new AuthenticationHeaderValue("Bearer", wrongKey)))
        {
            await SendAsync(wrong, HttpMethod.Post, "/v1/chat/completions", new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } });
        }
        using (var wrongAdmin = Client(new AuthenticationHeaderValue("Bearer", Secrets.OneCharacterOff(_adminToken))))
        {
            await SendAsync(wrongAdmin, HttpMethod.Get, "/admin/tenants", null);
        }
        await WaitForLedgerAsync(tenant, expectedRequests: 3);
        foreach (var path in new[] { "/admin/tenants", "/admin/keys", "/admin/usage", "/admin/budgets", "/admin/reports/spend?by=tenant&period=day",
            "/admin/reports/revenue", "/admin/reports/residency?tenant=acme", "/admin/reports/residency?tenant=acme&format=csv", "/admin/reports/shadow",
            "/admin/cases", "/admin/enforcement", "/readyz", "/healthz", "/metrics" })
        {
            await SendAsync(admin, HttpMethod.Get, path, null);
        }
        var caseId = await OpenCaseAsync(keyId);
        await SendAsync(admin, HttpMethod.Get, $"/admin/cases/{caseId}", null);
        await SendAsync(admin, HttpMethod.Get, $"/admin/cases/{caseId}/evidence", null);

        // The CLI against the same store: export, reports, usage, audit, and the case's evidence bundle.
        var export = _folder.File("traffic.jsonl");
        var bundle = _folder.File("bundle.json");
        foreach (var args in new[]
        {
            new[] { "export", "--out", export }, ["report", "residency", "--tenant", "acme"], ["report", "spend"], ["report", "revenue"],
            ["usage"], ["audit", "list", "--json"], ["keys", "list"], ["cases", "list"], ["cases", "show", caseId],
            ["cases", "export", caseId, "--out", bundle],
        })
        {
            var result = await CliRunner.RunRawAsync([.. args, "--config", _config]);
            Assert.True(result.ExitCode == 0, $"corridor {string.Join(' ', args)}: {result.Error}");
            _seen.Append(result.Out).Append(result.Error);
        }
        _seen.Append(await File.ReadAllTextAsync(export)).Append(await File.ReadAllTextAsync(bundle));
        Assert.Contains("\"request_id\"", _seen.ToString(), StringComparison.Ordinal);

        var log = _serve.Output;
        // The log is JSON (output redirected), and a failed upstream's line names its request.
        var upstreamFailure = log.Split('\n').Where(l => l.Contains("upstream deployment", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(upstreamFailure);
        Assert.All(upstreamFailure, line =>
        {
            using var entry = JsonDocument.Parse(line);
            Assert.StartsWith("req_", entry.RootElement.GetProperty("State").GetProperty("RequestId").GetString(), StringComparison.Ordinal);
        });
        var everything = log + _seen;
        // The search is over real content: the key is named (by id and visible prefix) where it should be.
        Assert.Contains(keyId, everything, StringComparison.Ordinal);
        Assert.Contains(secret[..12], everything, StringComparison.Ordinal);
        foreach (var (name, value) in new[] { ("the tenant's key", secret), ("a wrong key presented", wrongKey), ("the vendor credential", _vendorCredential), ("the admin token", _adminToken) })
        {
            Assert.False(everything.Contains(value, StringComparison.Ordinal), $"{name} appears in Corridor's output");
        }
    }

    /// <summary>A flagged key's case with an example of its traffic, as the gateway's monitor opens it.</summary>
    private async Task<string> OpenCaseAsync(string keyId)
    {
        var at = DateTimeOffset.UtcNow;
        var file = CaseFile.Open(SubjectRef.Key(keyId), "acme", at);
        file.AddLevelChange(new LevelChange(SubjectRef.Key(keyId), "acme", EnforcementLevel.Watch, EnforcementLevel.Flag, 0.47, LevelChangeCause.Automatic, at,
            [new SignalContribution(Signal.CotElicitation, 0.9, 0.15)], []));
        file.AddExample(new CaseExample("req_1", at, keyId, "gpt-4.1", "/v1/chat/completions", "harvester/1.0", "203.0.113.9", 40, 900,
            """{"messages":[{"role":"user","content":"hi"}]}""", "Step 1 ..."), keep: 5);
        file.Version = 1;
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_folder.File("corridor.db")), CancellationToken.None).WithTimeout();
        Assert.True(await store.SaveCaseAsync(new CaseRecord(file.Id, file.Subject, file.Tenant, file.Status, file.OpenedAt, file.UpdatedAt, 1, file.ToJson()),
            [new AuditEntry(at, AuditActors.Gateway, AuditActions.CaseOpen, file.Id, AuditDetails.Empty)], CancellationToken.None).WithTimeout());
        return file.Id;
    }

    private static async Task WaitForLedgerAsync(HttpClient tenant, int expectedRequests)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            var usage = await tenant.GetFromJsonAsync<JsonElement>("/v1/usage", cts.Token);
            if (usage.GetProperty("data").EnumerateArray().Sum(r => r.GetProperty("requests").GetInt64()) >= expectedRequests)
            {
                return;
            }
            await Task.Delay(50, cts.Token);
        }
    }

    private HttpClient Client(AuthenticationHeaderValue authorization)
    {
        var http = new HttpClient { BaseAddress = _serve.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = authorization;
        return http;
    }

    /// <summary>Sends, and keeps the status line, headers and body for the search.</summary>
    private async Task SendAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body switch
            {
                null => null,
                string text => new StringContent(text, Encoding.UTF8, "application/json"),
                _ => JsonContent.Create(body),
            },
        };
        using var response = await http.SendAsync(request).WithTimeout();
        _seen.Append((int)response.StatusCode).Append(' ').Append(path).Append('\n')
            .Append(response.Headers).Append(response.Content.Headers).Append(await response.Content.ReadAsStringAsync()).Append('\n');
        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
    }
}
