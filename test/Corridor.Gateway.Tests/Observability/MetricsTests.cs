using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// <c>/metrics</c> on a live gateway: the GenAI conventions' token usage, request duration and time to first token, with the
/// exact tokens the clients were told; Corridor's requests by outcome and error; ledger and monitor gauges; valid exposition.
/// </summary>
public sealed partial class MetricsTests(Functional.AdminGatewayFixture fixture) : IClassFixture<Functional.AdminGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private const string Claude = "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"anthropic\",gen_ai_request_model=\"claude-sonnet-4\",gen_ai_response_model=\"claude-sonnet-4\"";
    private const string Gpt = "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4.1\",gen_ai_response_model=\"gpt-4.1\"";

    [Fact]
    public async Task TokenUsage_MatchesWhatTheClientsWereTold_AndStreamsHaveTimeToFirstToken()
    {
        var before = await ScrapeAsync();
        var whole = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Count the tokens.")], null, default).WithTimeout()).Value;
        long streamedInput = 0, streamedOutput = 0;
        await foreach (var update in Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatStreamingAsync([new UserChatMessage("Stream it.")], new ChatCompletionOptions(), default).WithCancellation(default))
        {
            if (update.Usage is { } usage)
            {
                (streamedInput, streamedOutput) = (usage.InputTokenCount, usage.OutputTokenCount);
            }
        }
        var message = await Live.Anthropic().Messages.Create(Functional.AnthropicDialectTests.Ask("claude-sonnet-4", "Count these too.")).WithTimeout();

        var after = await ScrapeAfterAsync(before, 3);
        Assert.True(streamedOutput > 0, "the stream reported its usage");
        Assert.Equal(whole.Usage.InputTokenCount + streamedInput, Delta(before, after, $"gen_ai_client_token_usage_sum{{{Gpt},gen_ai_token_type=\"input\"}}"));
        Assert.Equal(whole.Usage.OutputTokenCount + streamedOutput, Delta(before, after, $"gen_ai_client_token_usage_sum{{{Gpt},gen_ai_token_type=\"output\"}}"));
        Assert.Equal(2, Delta(before, after, $"gen_ai_client_token_usage_count{{{Gpt},gen_ai_token_type=\"output\"}}"));
        Assert.Equal(message.Usage.InputTokens, Delta(before, after, $"gen_ai_client_token_usage_sum{{{Claude},gen_ai_token_type=\"input\"}}"));
        Assert.Equal(message.Usage.OutputTokens, Delta(before, after, $"gen_ai_client_token_usage_sum{{{Claude},gen_ai_token_type=\"output\"}}"));
        Assert.Equal(2, Delta(before, after, $"gen_ai_server_request_duration_seconds_count{{{Gpt}}}"));
        Assert.Equal(2, Delta(before, after, $"gen_ai_server_request_duration_seconds_bucket{{{Gpt},le=\"+Inf\"}}"));
        // Only the stream has a first token.
        Assert.Equal(1, Delta(before, after, $"gen_ai_server_time_to_first_token_seconds_count{{{Gpt}}}"));
        Assert.True(Delta(before, after, "corridor_requests_total{corridor_outcome=\"success\",http_response_status_code=\"200\"}") >= 3);
    }

    [Fact]
    public async Task Healthz_ShowsTheLedgerAndAuditSpools_FilesWaitingAndSetAside()
    {
        using var http = fixture.Admin();
        using var health = JsonDocument.Parse(await http.GetStringAsync("/healthz").WithTimeout());

        Assert.Equal(0, health.RootElement.GetProperty("ledger").GetProperty("journal_set_aside").GetInt32());
        var spool = health.RootElement.GetProperty("ledger").GetProperty("spool");
        Assert.Equal(0, spool.GetProperty("files").GetInt32());
        Assert.Equal(0, spool.GetProperty("set_aside").GetInt32());
        var audit = health.RootElement.GetProperty("audit");
        Assert.True(audit.GetProperty("written").GetInt64() >= 0);
        Assert.True(audit.GetProperty("pending").GetInt64() >= 0);
        Assert.Equal(0, audit.GetProperty("spool").GetProperty("files").GetInt32());
    }

    [Fact]
    public async Task RefusedAndFailedRequests_AreCountedByOutcomeAndErrorType()
    {
        var before = await ScrapeAsync();
        using (var stranger = Live.Http("sk-cor-" + new string('x', 40)))
        {
            using var refused = await stranger.PostAsJsonAsync("/v1/chat/completions", new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        using (var http = Live.Http())
        {
            using var dead = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "dead", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
            Assert.False(dead.IsSuccessStatusCode);
        }

        var after = await ScrapeAfterAsync(before, 2);
        Assert.Equal(1, Delta(before, after, "corridor_requests_total{corridor_outcome=\"unauthorized\",error_type=\"invalid_api_key\",http_response_status_code=\"401\"}"));
        Assert.Equal(1, Delta(before, after, "gen_ai_server_request_duration_seconds_count{error_type=\"upstream_unreachable\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"dead\",gen_ai_response_model=\"dead\"}"));
    }

    [Fact]
    public async Task Exposition_IsValidPrometheusText_WithLedgerAndMonitorGauges()
    {
        using var http = fixture.Admin();
        using var response = await http.GetAsync("/metrics").WithTimeout();
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                Assert.True(declared.Add(line.Split(' ')[2]), $"declared twice: {line}");
                continue;
            }
            if (line.StartsWith('#'))
            {
                continue;
            }
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            Assert.Contains(declared, name => match.Groups["name"].Value.StartsWith(name, StringComparison.Ordinal));
        }
        Assert.Contains("# TYPE corridor_ledger_lag_seconds gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE corridor_ledger_pending gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE corridor_ledger_written_total counter", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^corridor_ledger_journal_backlog \d+$", text);
        Assert.Matches(@"(?m)^corridor_ledger_spool_set_aside_total \d+$", text);
        foreach (var level in new[] { "watch", "flag", "throttle", "suspend" })
        {
            Assert.Contains($"corridor_monitor_subjects{{corridor_monitor_level=\"{level}\"}} ", text, StringComparison.Ordinal);
        }
        Assert.Contains("# TYPE dotnet_process_memory_working_set_bytes gauge", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Live.Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("acme", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_IsReady_WithEveryCheckNamed()
    {
        using var http = fixture.Admin();
        using var response = await http.GetAsync("/readyz").WithTimeout();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = body.RootElement;
        Assert.True(root.GetProperty("ready").GetBoolean());
        Assert.Equal(0, root.GetProperty("reasons").GetArrayLength());
        var checks = root.GetProperty("checks");
        Assert.Equal("ok", checks.GetProperty("store").GetString());
        Assert.Equal("ok", checks.GetProperty("keys").GetString());
        Assert.StartsWith("none", checks.GetProperty("policy").GetString(), StringComparison.Ordinal);
        Assert.Equal(30, checks.GetProperty("ledger").GetProperty("max_lag_seconds").GetDouble());
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (?<value>[-+0-9.eE]+|NaN|\+Inf|-Inf)$""")]
    private static partial Regex SampleLine();

    private async Task<Dictionary<string, double>> ScrapeAsync()
    {
        using var scraper = fixture.Admin();
        return await MetricsScrape.ScrapeAsync(scraper);
    }

    private async Task<Dictionary<string, double>> ScrapeAfterAsync(Dictionary<string, double> before, int requests)
    {
        using var scraper = fixture.Admin();
        return await MetricsScrape.ScrapeAfterAsync(scraper, before, requests);
    }

    private static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string series) =>
        MetricsScrape.Delta(before, after, series);
}
