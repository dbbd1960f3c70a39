using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Corridor.Simulator;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A gateway reaching the simulator through a <see cref="TcpRelay"/> that keeps the bytes it sends: an OpenAI model on a
/// deployment that sets the flex service tier and one that sets none, a Claude model on a deployment that sets US-only
/// inference and the standard tier and one that sets neither.
/// </summary>
public sealed class TermsFixture : LiveGatewayFixture
{
    private readonly string _tokenEnv = "CORRIDOR_TEST_ADMIN_" + Guid.NewGuid().ToString("N");
    private TcpRelay? _relay;

    public string AdminToken { get; } = "admin-" + Guid.NewGuid().ToString("N");

    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected override Task<LiveGateway> StartAsync()
    {
        Environment.SetEnvironmentVariable(_tokenEnv, AdminToken);
        // An Anthropic-compatible upstream that runs the inference wherever it likes, and says so.
        var elsewhere = Own(new ScriptedUpstream());
        elsewhere.AnswerRequests(_ => UnusualUpstreamFixture.Json("200 OK", """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Hello."}],
             "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3,"service_tier":"standard","inference_geo":"global"}}
            """));
        var elsewhereUrl = elsewhere.BaseUrl.ToString().TrimEnd('/');
        return LiveGateway.StartAsync(simulator =>
        {
            _relay = Own(TcpRelay.Start(simulator));
            var sim = _relay.Address.ToString().TrimEnd('/');
            return $$"""
                server:
                  adminTokenEnv: {{_tokenEnv}}
                vendors:
                  - { id: openai, kind: openai, baseUrl: "{{sim}}/v1" }
                  - { id: anthropic, kind: anthropic, baseUrl: "{{sim}}/v1" }
                  - { id: anthropic-told, kind: anthropic, baseUrl: "{{sim}}/v1", endUserId: tenant }
                  - { id: openai-told, kind: openai, baseUrl: "{{sim}}/v1", endUserId: key }
                models:
                  - { id: gpt-flex, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
                  - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
                  - { id: claude-us, vendor: anthropic, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
                  - { id: claude-sonnet-4, vendor: anthropic, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
                  - { id: claude-told, vendor: anthropic-told, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
                  - { id: gpt-told, vendor: openai-told, capabilities: [chat], contextWindow: 1047576 }
                  - { id: claude-elsewhere, vendor: anthropic, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
                deployments:
                  - { id: gpt-flex-sg, model: gpt-flex, region: sg, serviceTier: flex, price: { input: 1, output: 4 } }
                  - { id: gpt-4.1-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
                  - { id: claude-us-east, model: claude-us, region: us-east, inferenceGeo: us, serviceTier: standard_only, price: { input: 3.3, output: 16.5 } }
                  - { id: claude-global, model: claude-sonnet-4, region: us-east, price: { input: 3, output: 15 } }
                  - { id: claude-told-us, model: claude-told, region: us-east, price: { input: 3, output: 15 } }
                  - { id: gpt-told-sg, model: gpt-told, region: sg, price: { input: 2, output: 8 } }
                  - { id: claude-elsewhere-us, model: claude-elsewhere, region: us-east, inferenceGeo: us, endpoint: "{{elsewhereUrl}}/v1", price: { input: 3.3, output: 16.5 } }
                """;
        },
        new SimulatorOptions { TokenInterval = TimeSpan.Zero });
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenEnv, null);
    }
}

/// <summary>
/// A request's service tier (OpenAI's <c>flex</c> and <c>priority</c>, Anthropic's <c>auto</c>, which spends Priority Tier
/// capacity), its inference geography (Anthropic's <c>inference_geo</c>) and Anthropic's fast mode (<c>speed</c>) change what
/// the vendor charges and where it serves. The deployment's price and region say those, so the deployment sets them and the
/// client's never reach the upstream, in either dialect, across the translation, whole or streamed (docs/forwarding.md).
/// </summary>
public sealed class UpstreamTermsTests(TermsFixture fixture) : IClassFixture<TermsFixture>
{
    private LiveGateway Live => fixture.Live;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAnthropicClientsGeographyTierAndSpeed_GiveWayToTheDeployments(bool stream)
    {
        var ask = AnthropicDialectTests.Ask("claude-us", "Where do you run?") with
        {
            InferenceGeo = "global",
            ServiceTier = ServiceTier.Auto,
            Speed = Speed.Fast,
        };
        var before = fixture.Relay.Sent.Length;

        string? geo;
        if (stream)
        {
            var events = await Live.Anthropic().Messages.CreateStreaming(ask).ToListWithTimeoutAsync();
            Assert.True(events[0].TryPickStart(out var start));
            geo = start.Message.Usage.InferenceGeo;
        }
        else
        {
            geo = (await Live.Anthropic().Messages.Create(ask).WithTimeout()).Usage.InferenceGeo;
        }

        Assert.Equal("us", geo);
        var body = SentBody(before);
        Assert.Equal("us", body.GetProperty("inference_geo").GetString());
        Assert.Equal("standard_only", body.GetProperty("service_tier").GetString());
        Assert.False(body.TryGetProperty("speed", out _));
    }

    [Fact]
    public async Task OnADeploymentThatSetsNone_TheClientsAreTakenOut_AndTheVendorsDefaultsApply()
    {
        var ask = AnthropicDialectTests.Ask("claude-sonnet-4", "Where do you run?") with { InferenceGeo = "us", ServiceTier = ServiceTier.Auto };
        var before = fixture.Relay.Sent.Length;

        var message = await Live.Anthropic().Messages.Create(ask).WithTimeout();

        Assert.Equal("global", message.Usage.InferenceGeo);
        var body = SentBody(before);
        Assert.False(body.TryGetProperty("inference_geo", out _));
        Assert.False(body.TryGetProperty("service_tier", out _));
    }

    /// <summary>OpenAI's answer says the tier it served at: the deployment's, whatever the client asked.</summary>
    [Theory]
    [InlineData("gpt-flex", "priority", "flex")]
    [InlineData("gpt-4.1", "flex", "default")]
    [InlineData("gpt-4.1", "priority", "default")]
    public async Task AnOpenAIClientsServiceTier_GivesWayToTheDeployments(string model, string asked, string served)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, answer) = await PostAsync("/v1/chat/completions",
            $$"""{"model":"{{model}}","service_tier":"{{asked}}","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(served, answer.GetProperty("service_tier").GetString());
        var body = SentBody(before);
        Assert.Equal(served == "default" ? null : served, body.TryGetProperty("service_tier", out var tier) ? tier.GetString() : null);
    }

    /// <summary>Across the translation: an OpenAI client on the Claude deployment, and a Responses client, carry the deployment's terms only.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"claude-us","service_tier":"priority","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/responses", """{"model":"claude-us","service_tier":"priority","input":"hi"}""")]
    public async Task AnOpenAIClient_OnTheClaudeDeployment_IsServedInItsGeography(string path, string json)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, _) = await PostAsync(path, json);

        Assert.Equal(HttpStatusCode.OK, status);
        var body = SentBody(before);
        Assert.Equal("us", body.GetProperty("inference_geo").GetString());
        Assert.Equal("standard_only", body.GetProperty("service_tier").GetString());
    }

    /// <summary>
    /// The vendor's own word on where it ran the inference (Anthropic's <c>usage.inference_geo</c>) is checked against the
    /// deployment's <c>inferenceGeo</c>: an answer from elsewhere is served and billed as any, and its ledger row says
    /// <c>inference_geo_mismatch</c>, the evidence an operator (or a regulator) needs; one from where it was sent says nothing.
    /// </summary>
    [Theory]
    [InlineData("claude-elsewhere", "inference_geo_mismatch")]
    [InlineData("claude-us", null)]
    public async Task AnAnswerFromAnotherGeography_IsServed_AndItsRowSaysSo(string model, string? code)
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var row = await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        Assert.Equal((Corridor.Core.Metering.RequestOutcome.Success, code), (row.Outcome, row.ErrorCode));
        Assert.True(row.Cost > 0);
    }

    /// <summary>
    /// A vendor told the tenant (<c>endUserId</c>) reads it where its abuse monitoring does, and never the client's own end
    /// user, which could name another customer: the Anthropic .NET SDK's <c>metadata.user_id</c>, whole and streamed; an
    /// OpenAI client's <c>user</c> and <c>safety_identifier</c>, on a vendor told the tenant and key.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AVendorToldTheTenant_ReadsIt_NotTheClientsEndUser(bool stream)
    {
        var ask = AnthropicDialectTests.Ask("claude-told", "Who am I?") with { Metadata = new Metadata { UserID = "globex-user-7" } };
        var before = fixture.Relay.Sent.Length;

        if (stream)
        {
            await Live.Anthropic().Messages.CreateStreaming(ask).ToListWithTimeoutAsync();
        }
        else
        {
            await Live.Anthropic().Messages.Create(ask).WithTimeout();
        }

        Assert.Equal("""{"user_id":"acme"}""", SentBody(before).GetProperty("metadata").GetRawText());
        Assert.DoesNotContain("globex", fixture.Relay.Sent[before..], StringComparison.Ordinal);
    }

    /// <summary>
    /// An OpenAI-kind server other than OpenAI's own (the simulator here, as DeepSeek or vLLM) reads the end user in
    /// <c>user</c> (OpenAI's own in <c>safety_identifier</c>: UpstreamBodyTests); the client's, in either field, is not sent.
    /// </summary>
    [Fact]
    public async Task AnOpenAIKindVendorToldTheKey_ReadsItAsItsUser_NotTheClients()
    {
        var keys = await Live.Store.ListKeysAsync("acme", CancellationToken.None).WithTimeout();
        var before = fixture.Relay.Sent.Length;

        var (status, _) = await PostAsync("/v1/chat/completions",
            """{"model":"gpt-told","user":"globex-user-7","safety_identifier":"globex-user-7","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var body = SentBody(before);
        Assert.Contains(body.GetProperty("user").GetString(), keys.Select(key => $"acme/{key.Id}"));
        Assert.False(body.TryGetProperty("safety_identifier", out _));
        Assert.DoesNotContain("globex", fixture.Relay.Sent[before..], StringComparison.Ordinal);
    }

    /// <summary>The operator sees each deployment's terms beside its region (<c>GET /admin/deployments</c>).</summary>
    [Fact]
    public async Task TheAdminApi_ShowsEachDeploymentsTerms()
    {
        using var admin = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", fixture.AdminToken);

        using var listed = JsonDocument.Parse(await admin.GetStringAsync("/admin/deployments").WithTimeout());

        var terms = listed.RootElement.EnumerateArray().ToDictionary(
            d => d.GetProperty("id").GetString()!,
            d => (d.GetProperty("service_tier").GetString(), d.GetProperty("inference_geo").GetString()));
        Assert.Equal(("flex", null), terms["gpt-flex-sg"]);
        Assert.Equal(("standard_only", "us"), terms["claude-us-east"]);
        Assert.Equal((null, null), terms["claude-global"]);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Authorization", "Bearer " + Live.Secret);
        using var response = await http.SendAsync(request).WithTimeout();
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>The JSON body of the one request the relay carried since <paramref name="before"/>.</summary>
    private JsonElement SentBody(int before)
    {
        var sent = fixture.Relay.Sent[before..];
        var head = sent.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(head > 0, sent);
        return JsonDocument.Parse(sent[(head + 4)..]).RootElement.Clone();
    }
}
