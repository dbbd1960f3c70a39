using System.Collections;
using Corridor.Core.Catalog;
using Corridor.Gateway.Configuration;

namespace Corridor.Gateway.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string Minimal = """
        vendors:
          - { id: openai, kind: openai, baseUrl: "https://api.openai.com/v1" }
        models:
          - { id: gpt-4.1, vendor: openai, capabilities: [chat, tools], contextWindow: 1047576 }
        deployments:
          - id: gpt-sg
            model: gpt-4.1
            region: sg
            credentialEnv: OPENAI_API_KEY
            price: { input: 2.00, output: "8.5" }
        """;

    [Fact]
    public void Minimal_LoadsWithDefaults()
    {
        var result = ConfigLoader.Parse(Minimal, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var config = result.Config!;
        Assert.Equal("http://127.0.0.1:8080", config.Server.Urls);
        Assert.Equal(8 * 1024 * 1024, config.Server.MaxRequestBodyBytes);
        Assert.Equal("/srv/corridor/data/corridor.db", config.Storage.SqlitePath);
        var deployment = Assert.Single(config.Catalog.Deployments);
        Assert.Equal(8.5m, deployment.OutputPricePerMillion);
        Assert.Equal("OPENAI_API_KEY", deployment.CredentialEnv);
        Assert.Equal(ModelCapabilities.Chat | ModelCapabilities.Tools, config.Catalog.Models[0].Capabilities);
    }

    [Fact]
    public void Observability_IsRead_AndEveryBadValueReported()
    {
        var good = ConfigLoader.Parse(Minimal + """

            observability:
              logFormat: json
              otlpEndpoint: http://collector:4318
              otlpProtocol: http/protobuf
              otlpExportIntervalSeconds: 5
              readyMaxLedgerLagSeconds: 10
            """, "/srv/corridor");
        var bad = ConfigLoader.Parse(Minimal + """

            observability:
              logFormat: xml
              otlpEndpoint: "ftp://collector"
              otlpProtocol: carrier-pigeon
              readyMaxLedgerLagSeconds: 0
            """, "/srv/corridor");

        Assert.True(good.Succeeded, string.Join("; ", good.Errors));
        var options = good.Config!.Observability;
        Assert.True(options.JsonLogs);
        Assert.Equal(new Uri("http://collector:4318"), options.OtlpEndpoint);
        Assert.Equal("http/protobuf", options.OtlpProtocol);
        Assert.Equal(TimeSpan.FromSeconds(5), options.EffectiveOtlpExportInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), options.EffectiveReadyMaxLedgerLag);
        Assert.False(bad.Succeeded);
        Assert.Contains(bad.Errors, e => e.Contains("observability.logFormat", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("observability.otlpEndpoint", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("observability.otlpProtocol", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("observability.readyMaxLedgerLagSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void ClientLimits_AreRead_AndDefaultToKestrelsOwnValues()
    {
        var result = ConfigLoader.Parse("""
            server:
              maxRequestHeaderBytes: 8192
              maxRequestHeaderCount: 30
              requestHeadersTimeoutSeconds: 3
              minRequestBodyBytesPerSecond: 100
              minRequestBodyGraceSeconds: 4

            """ + Minimal, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(new ClientLimits(8192, 30, TimeSpan.FromSeconds(3), 100, TimeSpan.FromSeconds(4)), result.Config!.Server.Clients);
        var defaults = ConfigLoader.Parse(Minimal, "/srv").Config!.Server.Clients;
        Assert.Equal((32 * 1024, 100, TimeSpan.FromSeconds(30), 240.0, TimeSpan.FromSeconds(5)),
            (defaults.MaxRequestHeaderBytes, defaults.MaxRequestHeaderCount, defaults.EffectiveRequestHeadersTimeout, defaults.MinRequestBodyBytesPerSecond, defaults.EffectiveMinRequestBodyGrace));
    }

    [Fact]
    public void EndUserId_AndTheDeploymentsTerms_AreRead_AndAnUnknownEndUserIdIsNamed()
    {
        var good = ConfigLoader.Parse(Minimal
            .Replace("kind: openai", "kind: openai, endUserId: tenant", StringComparison.Ordinal)
            .Replace("region: sg", "region: sg\n    serviceTier: flex", StringComparison.Ordinal), "/srv");
        var bad = ConfigLoader.Parse(Minimal.Replace("kind: openai", "kind: openai, endUserId: customer", StringComparison.Ordinal), "/srv");

        Assert.True(good.Succeeded, string.Join("; ", good.Errors));
        Assert.Equal(EndUserId.Tenant, good.Config!.Catalog.Vendors[0].EndUserId);
        Assert.Equal("flex", good.Config.Catalog.Deployments[0].ServiceTier);
        Assert.Contains("vendors:0.endUserId: 'customer' is not one of client, tenant, key, none", bad.Errors);
    }

    [Fact]
    public void BadClientLimits_AreAllListed()
    {
        var result = ConfigLoader.Parse("""
            server:
              maxRequestHeaderBytes: 0
              maxRequestHeaderCount: 0
              minRequestBodyGraceSeconds: 1

            """ + Minimal, "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains("server.maxRequestHeaderBytes must be positive", result.Errors);
        Assert.Contains("server.maxRequestHeaderCount must be positive", result.Errors);
        Assert.Contains("server.minRequestBodyGraceSeconds must be at least 2", result.Errors);
    }

    [Fact]
    public void TheLeaseExpiry_IsReadFromStorage_AtLeastTwoSeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), ConfigLoader.Parse(Minimal, "/srv").Config!.Storage.LeaseExpiry);
        Assert.Equal(TimeSpan.FromSeconds(4), ConfigLoader.Parse("storage: { leaseExpirySeconds: 4 }\n" + Minimal, "/srv").Config!.Storage.LeaseExpiry);

        var result = ConfigLoader.Parse("storage: { leaseExpirySeconds: 1 }\n" + Minimal, "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains("storage.leaseExpirySeconds must be at least 2", result.Errors);
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("-5", "-1")]
    public void UpstreamTimeoutsOfZeroOrLess_AreListed(string idle, string connect)
    {
        var result = ConfigLoader.Parse($"server: {{ streamIdleTimeoutSeconds: {idle}, connectTimeoutSeconds: {connect} }}\n" + Minimal, "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains("server.streamIdleTimeoutSeconds must be positive", result.Errors);
        Assert.Contains("server.connectTimeoutSeconds must be positive", result.Errors);
    }

    [Theory]
    [InlineData("batchSize: 0", "ledger.batchSize must be from 1 to 65536")]
    [InlineData("batchSize: -1", "ledger.batchSize must be from 1 to 65536")]
    [InlineData("batchSize: 4294967297", "ledger.batchSize must be from 1 to 65536")]
    [InlineData("flushIntervalMs: -5", "ledger.flushIntervalMs must be from 0 to 60000")]
    [InlineData("flushIntervalMs: 60001", "ledger.flushIntervalMs must be from 0 to 60000")]
    [InlineData("retainMaxChars: -1", "ledger.retainMaxChars must not be negative")]
    [InlineData("retainRequestMaxBytes: -1", "ledger.retainRequestMaxBytes must not be negative")]
    public void LedgerNumbersOutOfRange_AreListed(string setting, string error)
    {
        var result = ConfigLoader.Parse("ledger: { " + setting + " }\n" + Minimal, "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal([error], result.Errors);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0.5")]
    [InlineData("1.01")]
    public void ABatchLimitShareOutsideZeroToOne_IsListed(string share)
    {
        var result = ConfigLoader.Parse("batches: { limitShare: " + share + " }\n" + Minimal, "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal(["batches.limitShare must be above 0 and at most 1 (the share of a rate limit batches may use)"], result.Errors);
    }

    [Fact]
    public void TheBatchLimitShare_IsRead_AndIsHalfByDefault()
    {
        Assert.Equal(0.5, ConfigLoader.Parse(Minimal, "/srv").Config!.Batches.LimitShare);
        Assert.Equal(1.0, ConfigLoader.Parse("batches: { limitShare: 1 }\n" + Minimal, "/srv").Config!.Batches.LimitShare);
        Assert.Equal(0.25, ConfigLoader.Parse("batches: { limitShare: 0.25 }\n" + Minimal, "/srv").Config!.Batches.LimitShare);
    }

    [Fact]
    public void LedgerNumbersAtTheirBounds_AreTaken()
    {
        var result = ConfigLoader.Parse("ledger: { batchSize: 65536, flushIntervalMs: 0, retainMaxChars: 0, retainRequestMaxBytes: 0 }\n" + Minimal, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(65536, result.Config!.Ledger.BatchSize);
    }

    [Fact]
    public void WholeNumbersAboveTheLargestInteger_AreTheLargest_NotWrapped_InEverySection()
    {
        const string Huge = "4294967297"; // 2^32 + 1: wrapped to an int it is 1
        var yaml = $$"""
            server: { maxRequestHeaderBytes: {{Huge}}, maxRequestHeaderCount: {{Huge}} }
            limits: { defaultMaxOutputTokens: {{Huge}} }
            shadow: { queue: {{Huge}}, concurrency: {{Huge}}, compareChars: {{Huge}}, models: { gpt-4.1: { candidate: gpt-mini, share: 0.1, maxInFlight: {{Huge}} } } }
            vendors:
              - { id: openai, kind: openai, baseUrl: "https://api.openai.com/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: {{Huge}}, maxOutputTokens: {{Huge}} }
              - { id: gpt-mini, vendor: openai, capabilities: [chat], contextWindow: 1000 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, priority: {{Huge}}, price: { input: 2, output: 8 } }
              - { id: mini-sg, model: gpt-mini, region: sg, price: { input: 1, output: 2 } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var config = result.Config!;
        Assert.Equal(int.MaxValue, config.Server.Clients.MaxRequestHeaderBytes);
        Assert.Equal(int.MaxValue, config.Server.Clients.MaxRequestHeaderCount);
        Assert.Equal(int.MaxValue, config.Admission.DefaultMaxOutputTokens);
        Assert.Equal((int.MaxValue, int.MaxValue, int.MaxValue), (config.Shadow.QueueCapacity, config.Shadow.Concurrency, config.Shadow.CompareChars));
        Assert.Equal(int.MaxValue, config.Shadow.Pairs["gpt-4.1"].MaxInFlight);
        Assert.Equal((int.MaxValue, int.MaxValue), (config.Catalog.Models[0].ContextWindow, config.Catalog.Models[0].DefaultMaxOutputTokens));
        Assert.Equal(int.MaxValue, config.Catalog.Deployments[0].Priority);
    }

    [Fact]
    public void Limits_AreRead_WithDefaultsForTenantsAndKeys()
    {
        var result = ConfigLoader.Parse(Minimal + """

            limits:
              currency: EUR
              outputTokenWeight: 4
              defaultMaxOutputTokens: 8192
              tenantDefaults: { rpm: 600, monthlyBudget: "1000.50", monthlySoftBudget: 800 }
              keyDefaults: { concurrentStreams: 3 }
            """, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var admission = result.Config!.Admission;
        Assert.Equal(("EUR", 1.0, 4.0, 8192), (admission.Currency, admission.InputTokenWeight, admission.OutputTokenWeight, admission.DefaultMaxOutputTokens));
        Assert.Equal(new Core.Admission.Limits { RequestsPerMinute = 600, MonthlyHardBudget = 1000.50m, MonthlySoftBudget = 800m }, admission.TenantDefaults);
        Assert.Equal(new Core.Admission.Limits { ConcurrentStreams = 3 }, admission.KeyDefaults);
        Assert.True(ConfigLoader.Parse(Minimal, "/srv").Config!.Admission.TenantDefaults.IsEmpty);
    }

    [Fact]
    public void BadLimits_AreListedWithTheirPlace()
    {
        var result = ConfigLoader.Parse(Minimal + """

            limits:
              defaultMaxOutputTokens: 0
              tenantDefaults: { rpm: -5, dailyBudget: 10, dailySoftBudget: 20 }
            """, "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains("limits.defaultMaxOutputTokens must be positive", result.Errors);
        Assert.Contains(result.Errors, e => e.StartsWith("limits:tenantDefaults: rpm '-5'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("daily soft budget (20) is above the daily budget (10)", StringComparison.Ordinal));
    }

    [Fact]
    public void EnvironmentVariables_OverrideTheFile()
    {
        var environment = new Hashtable
        {
            ["CORRIDOR__Server__Urls"] = "http://0.0.0.0:9000",
            ["CORRIDOR__deployments__0__region"] = "jp-east",
            ["UNRELATED"] = "x",
        };

        var config = ConfigLoader.Parse(Minimal, "/srv", environment).Config!;

        Assert.Equal("http://0.0.0.0:9000", config.Server.Urls);
        Assert.Equal("jp-east", config.Catalog.Deployments[0].Region);
    }

    /// <summary>A mistyped or misplaced key used to be ignored, leaving the default in force; now each is listed with its place, with every other error.</summary>
    [Fact]
    public void UnknownKeys_InEverySection_AreAllListed_WithTheirPlace_AndTheKeyMeant()
    {
        const string yaml = """
            server:
              maxRequestBodyByte: 1024
              colour: blue
              maxRequestHeaderCount: 0
            ledger: { retainBody: false }
            retainBodies: false
            vendors:
              - { id: openai, kind: openai, baseUrl: "https://api.openai.com/v1", apiVerison: x }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000, sell: { markpu: 0.2, markup: 0.2 } }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, priorty: 1, price: { input: 2, output: 8 } }
            routing:
              breaker: { failure: 3 }
              models: { gpt-4.1: { strategy: weighted, weight: { gpt-sg: 1 } } }
            limits:
              tenantDefaults: { dailyBudgte: 10 }
            tenantDefaults: { rpm: 5 }
            shadow: { models: { gpt-4.1: { candiate: gpt-4.1, share: 2 } } }
            monitor:
              throttle: { maxToken: 512 }
            observability: { logFormatt: json }
            polcy: { include: [policy.yaml] }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "server.maxRequestBodyByte (line 2): unknown key; did you mean maxRequestBodyBytes?",
                "server.colour (line 3): unknown key",
                "ledger.retainBody (line 5): unknown key; did you mean retainBodies?",
                "retainBodies (line 6): unknown key; did you mean ledger.retainBodies?",
                "vendors[0].apiVerison (line 8): unknown key; did you mean apiVersion?",
                "models[0].sell.markpu (line 10): unknown key; did you mean markup?",
                "deployments[0].priorty (line 12): unknown key; did you mean priority?",
                "routing.breaker.failure (line 14): unknown key; did you mean failures?",
                "routing.models.gpt-4.1.weight (line 15): unknown key; did you mean weights?",
                "limits.tenantDefaults.dailyBudgte (line 17): unknown key; did you mean dailyBudget?",
                "tenantDefaults (line 18): unknown key; did you mean limits.tenantDefaults?",
                "shadow.models.gpt-4.1.candiate (line 19): unknown key; did you mean candidate?",
                "monitor.throttle.maxToken (line 21): unknown key; did you mean maxTokens?",
                "observability.logFormatt (line 22): unknown key; did you mean logFormat?",
                "polcy (line 23): unknown key; did you mean policy?",
            ],
            result.Errors.Where(e => e.Contains("unknown key", StringComparison.Ordinal)));
        // Listed with the file's other errors, not instead of them.
        Assert.Contains("server.maxRequestHeaderCount must be positive", result.Errors);
        Assert.Contains("shadow.models.gpt-4.1.share must be between 0 and 1", result.Errors);
    }

    [Fact]
    public void KeysAreCaseSensitive_InTheFile_ButNotInTheEnvironment()
    {
        var yaml = Minimal.Replace("credentialEnv: OPENAI_API_KEY", "credentialenv: OPENAI_API_KEY", StringComparison.Ordinal) + """

            Server: { urls: "http://127.0.0.1:9000" }
            ledger: { retainBodies: false, RetainBodies: true }
            routing:
              models: { gpt-4.1: { strategy: priority }, GPT-4.1: { strategy: lowest-cost } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "deployments[0].credentialenv (line 9): unknown key (keys are case-sensitive); did you mean credentialEnv?",
                "Server (line 11): unknown key (keys are case-sensitive); did you mean server?",
                "ledger.RetainBodies (line 12): unknown key (keys are case-sensitive); did you mean retainBodies?",
                "routing.models.GPT-4.1 (line 14): unknown key (keys are case-sensitive); did you mean gpt-4.1?",
            ],
            result.Errors.Where(e => e.Contains("unknown key", StringComparison.Ordinal)));

        var fromEnvironment = ConfigLoader.Parse(Minimal, "/srv", new Dictionary<string, string> { ["CORRIDOR__SERVER__URLS"] = "http://0.0.0.0:9000" });
        Assert.True(fromEnvironment.Succeeded, string.Join("; ", fromEnvironment.Errors));
        Assert.Equal("http://0.0.0.0:9000", fromEnvironment.Config!.Server.Urls);
    }

    [Fact]
    public void AValueWhereASectionIsExpected_OrASectionWhereAValueIs_IsListed()
    {
        var result = ConfigLoader.Parse(Minimal + """

            server:
              urls: { primary: "http://127.0.0.1:8080" }
            ledger: 5
            limits: [USD]
            """, "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "server.urls (line 12): must be a single value",
                "ledger (line 13): must be a section, not the single value '5'",
                "limits (line 14): must not be a list",
            ],
            result.Errors);
    }

    [Fact]
    public void AnUnknownEnvironmentOverride_IsListed_WithTheVariableMeant()
    {
        var environment = new Hashtable
        {
            ["CORRIDOR__server__maxRequestBodyByte"] = "1024",
            ["CORRIDOR__retainBodies"] = "false",
            ["CORRIDOR__server__urls"] = "http://0.0.0.0:9000",
        };

        var result = ConfigLoader.Parse(Minimal, "/srv", environment);

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "CORRIDOR__retainBodies (environment): unknown key; did you mean CORRIDOR__ledger__retainBodies?",
                "CORRIDOR__server__maxRequestBodyByte (environment): unknown key; did you mean CORRIDOR__server__maxRequestBodyBytes?",
            ],
            result.Errors.Order(StringComparer.Ordinal));
    }

    /// <summary>A reload reports an unknown key as it reports any other error, and the last good configuration keeps serving.</summary>
    [Fact]
    public void AnUnknownKey_FailsAReload_AndTheLastGoodConfigurationKeepsServing()
    {
        using var directory = new Corridor.Testing.TempDirectory();
        var path = directory.File("corridor.yaml");
        var catalog = Minimal.Replace("credentialEnv: OPENAI_API_KEY", "priority: 1", StringComparison.Ordinal);
        File.WriteAllText(path, catalog);
        var loaded = ConfigLoader.Load(path);
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        var initial = ActiveConfig.TryCreate(loaded.Config!, _ => null, DateTimeOffset.UnixEpoch, out var errors);
        Assert.Empty(errors);
        var state = new GatewayState(initial!);
        File.WriteAllText(path, "server: { maxRequestBodyByte: 1024 }\n" + catalog);

        var status = new ConfigWatcher(loaded.Files, state, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ConfigWatcher>.Instance).Reload();

        Assert.False(status.Succeeded);
        Assert.Equal(["server.maxRequestBodyByte (line 1): unknown key; did you mean maxRequestBodyBytes?"], status.Errors);
        Assert.Same(initial, state.Active);
    }

    /// <summary>Every section and key docs/configuration.md documents is one the loader reads (a documented key it called unknown would stop a start).</summary>
    [Fact]
    public void EveryKeyTheDocumentationLists_IsKnown()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        var keys = new List<string>();
        string? section = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                section = line[3..].Trim();
                continue;
            }
            if (section is null || !line.StartsWith("| `", StringComparison.Ordinal))
            {
                continue;
            }
            // "| `a` |", "| `a`, `b` |", "| `thresholds.watch` / `.flag` |", "| `models.<model>` |"
            var cell = line.Split('|')[1];
            string? parent = null;
            foreach (var name in cell.Split('`').Where((_, i) => i % 2 == 1))
            {
                var key = name.StartsWith('.') ? parent + name : name;
                parent = key.Contains('.', StringComparison.Ordinal) ? key[..key.LastIndexOf('.')] : null;
                keys.Add($"{section}.{key.Replace("<", "", StringComparison.Ordinal).Replace(">", "", StringComparison.Ordinal).Replace(' ', '-')}");
            }
        }
        Assert.True(keys.Count > 60, $"only {keys.Count} keys found in the documentation's tables");

        var yaml = new System.Text.StringBuilder();
        foreach (var key in keys)
        {
            var parts = key.Split('.');
            // Lists hold mappings: vendors, models and deployments are written as one item each; values are empty.
            var list = parts[0] is "vendors" or "models" or "deployments";
            yaml.Append(parts[0]).Append(list ? ": [ { " : ": { ");
            for (var i = 1; i < parts.Length - 1; i++)
            {
                yaml.Append(parts[i]).Append(": { ");
            }
            yaml.Append(parts[^1]).Append(": \"\"").Append(string.Concat(Enumerable.Repeat(" }", parts.Length - 1))).Append(list ? " ]" : "").Append('\n');
        }
        // One document per key, so that a section written twice does not hide one.
        var unknown = yaml.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(document => ConfigLoader.Parse(document, "/srv").Errors.Where(e => e.Contains("unknown key", StringComparison.Ordinal)).Select(e => $"{document}: {e}"));
        Assert.Empty(unknown);
    }

    [Fact]
    public void InvalidFile_ReportsEveryError()
    {
        const string yaml = """
            server: { maxRequestBodyBytes: lots }
            vendors:
              - { id: openai, kind: openaii, baseUrl: "https://api.openai.com/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat, telepathy], contextWindow: 10 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: cheap } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv");

        Assert.False(result.Succeeded);
        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.Contains("maxRequestBodyBytes", StringComparison.Ordinal) && e.Contains("whole number", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("'openaii' is not one of", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("unknown capability 'telepathy'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("'cheap' is not a number", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("price.output", StringComparison.Ordinal));
    }

    /// <summary>tools, vision and reasoning only qualify chat or embeddings: a model with none of those two serves nothing.</summary>
    [Theory]
    [InlineData("[tools]")]
    [InlineData("[tools, vision, reasoning]")]
    public void AModelWithoutChatOrEmbeddings_StopsTheLoad(string capabilities)
    {
        var result = ConfigLoader.Parse(Minimal.Replace("[chat, tools]", capabilities, StringComparison.Ordinal), "/srv");

        Assert.False(result.Succeeded);
        Assert.Equal(["models[0] (gpt-4.1): capabilities must name at least one of chat, embeddings"], result.Errors);
    }

    [Fact]
    public void CatalogErrors_StopTheLoad()
    {
        var result = ConfigLoader.Parse(Minimal.Replace("region: sg", "region: Singapore", StringComparison.Ordinal), "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("region 'Singapore'", StringComparison.Ordinal));
    }

    /// <summary>A connection string Npgsql cannot read stops the load with the reason, not the start with a stack trace; its password is not repeated.</summary>
    [Theory]
    [InlineData("Host=db;Port=five;Password=pw-not-shown", "port")]
    [InlineData("Host=db;Pasword=pw-not-shown", "pasword")]
    public void AnUnreadablePostgresConnectionString_StopsTheLoad_WithoutItsPassword(string connectionString, string named)
    {
        var result = ConfigLoader.Parse(Minimal + $"""

            storage:
              postgres: "{connectionString}"
            """, "/srv");

        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors, e => e.StartsWith("storage.postgres is not a valid Npgsql connection string", StringComparison.Ordinal));
        Assert.Contains(named, error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("pw-not-shown", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenYaml_SaysWhere()
    {
        var result = ConfigLoader.Parse("vendors: [ {id: x", "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains("line", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedDemoConfig_IsValid()
    {
        var path = Path.Combine(RepositoryRoot(), "corridor.yaml");

        var result = ConfigLoader.Load(path);

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        // DeepSeek's thinking mode is on unless a request switches it off.
        Assert.Equal(["deepseek-v4"], result.Config!.Catalog.Models.Where(m => m.ReasoningByDefault).Select(m => m.Id));
    }

    private static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(directory, "Corridor.slnx")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("repository root not found");
        }
        return directory;
    }

    /// <summary>
    /// Odd YAML, each a clear error with its line and column (as a syntax error is), never an exception: complex keys, a
    /// file that is not a mapping, a second document, nesting deep enough to overflow the stack of a recursive reader,
    /// aliases that expand without bound or into themselves, duplicate keys, aliases and anchors that are not defined.
    /// </summary>
    public static TheoryData<string, string> OddYaml()
    {
        var laughs = new System.Text.StringBuilder("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i <= 6; i++)
        {
            laughs.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]\n");
        }
        // The policy section is read by the policy's own reader, which reads a shared node once per alias too.
        var rules = new System.Text.StringBuilder(Minimal + "\npolicy:\n  version: v1\n  rules:\n    - &r { id: r, allow_jurisdictions: [\"*\"], match: { models: [");
        rules.AppendJoin(", ", Enumerable.Repeat("gpt-4.1", 1000)).Append("] } }\n");
        for (var i = 0; i < 1000; i++)
        {
            rules.Append("    - *r\n");
        }
        return new()
        {
            { Minimal + "\n? [a, b]\n: c\n", "line 11, column 3: a key must be a single value, not a list" },
            { Minimal + "\nserver:\n  ? { a: 1 }\n  : x\n", "line 12, column 5: a key must be a single value, not a mapping" },
            { Minimal + "\n[a, b]: c\n", "line 11, column 1: a key must be a single value, not a list" },
            { "- vendors\n- models\n", "line 1, column 1: the file must be a mapping of sections" },
            { Minimal + "\n---\nserver: { urls: http://0.0.0.0:9 }\n", "line 11, column 1: a second document" },
            { "x: " + new string('[', 5000) + new string(']', 5000) + "\n", $"nested deeper than {Corridor.Core.Yaml.YamlText.MaxDepth} levels" },
            { "a: &a " + new string('[', 40) + new string(']', 40) + "\nb: " + new string('[', 40) + "*a" + new string(']', 40) + "\n", "line 2, column 44: nested deeper than 64 levels once its aliases are expanded" },
            { laughs.ToString(), $"expands to more than {Corridor.Core.Yaml.YamlText.MaxNodes} values" },
            { rules.ToString(), $"expands to more than {Corridor.Core.Yaml.YamlText.MaxNodes} values" },
            { Minimal + "\nserver: &s { urls: *s }\n", "line 11, column 20: the alias *s is inside its own anchor &s" },
            { Minimal + "\nserver: { urls: a }\nserver: { urls: b }\n", "line 12" },
            { Minimal + "\nserver: { urls: *nowhere }\n", "line 11, column 17: the alias *nowhere names no anchor" },
        };
    }

    [Theory]
    [MemberData(nameof(OddYaml))]
    public void OddYaml_IsAClearErrorWithItsLine_NeverAnException(string yaml, string error)
    {
        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(error, StringComparison.Ordinal) && e.StartsWith("corridor.yaml line ", StringComparison.Ordinal));
    }

    [Fact]
    public void TagsAnchorsAliasesAndHugeScalars_AreReadAsTheValuesTheyStandFor()
    {
        var huge = new string('h', 1 << 20);
        var result = ConfigLoader.Parse($$"""
            vendors:
              - { id: openai, kind: !!str openai, baseUrl: !custom "https://api.openai.com/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: !!int 1047576, family: "{{huge}}" }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: &price { input: 2, output: 8 } }
              - { id: gpt-jp, model: gpt-4.1, region: jp-east, price: *price }
            server: !!map { urls: "http://0.0.0.0:9000" }
            """, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var catalog = result.Config!.Catalog;
        Assert.Equal([8m, 8m], catalog.Deployments.Select(d => d.OutputPricePerMillion));
        Assert.Equal(huge, catalog.Models[0].Family);
        Assert.Equal(1047576, catalog.Models[0].ContextWindow);
        Assert.Equal("http://0.0.0.0:9000", result.Config.Server.Urls);
    }
}

public sealed class RoutingConfigTests
{
    private const string Catalog = """
        vendors:
          - { id: openai, kind: openai, baseUrl: "https://api.openai.com/v1" }
        models:
          - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000 }
        deployments:
          - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
          - { id: gpt-jp, model: gpt-4.1, region: jp-east, price: { input: 2, output: 8 } }
        """;

    [Fact]
    public void Routing_IsRead()
    {
        var yaml = Catalog + """

            routing:
              strategy: lowest-latency
              retryBudget: 0.5
              breaker: { failures: 3, openSeconds: 10 }
              models:
                gpt-4.1: { strategy: weighted, weights: { gpt-sg: 3, gpt-jp: 1 } }
              aliases:
                chat-default: [gpt-4.1]
            """;

        var routing = ConfigLoader.Parse(yaml, "/srv").Config!.Routing;

        Assert.Equal(Corridor.Core.Routing.RoutingStrategy.LowestLatency, routing.DefaultStrategy);
        Assert.Equal(0.5, routing.RetryBudgetRatio);
        Assert.Equal(3, routing.BreakerFailureThreshold);
        Assert.Equal(TimeSpan.FromSeconds(10), routing.EffectiveBreakerOpenFor);
        Assert.Equal(Corridor.Core.Routing.RoutingStrategy.Weighted, routing.For("gpt-4.1").Strategy);
        Assert.Equal(3, routing.For("gpt-4.1").Weights!["gpt-sg"]);
        Assert.Equal(["gpt-4.1"], routing.Aliases["chat-default"]);
    }

    [Fact]
    public void Routing_Mistakes_AreListed()
    {
        var yaml = Catalog + """

            routing:
              strategy: fastest
              models:
                gpt-5: { strategy: priority }
                gpt-4.1: { strategy: weighted, weights: { gpt-us: 1 } }
              aliases:
                gpt-4.1: [gpt-4.1]
                chat-default: [gpt-4.1, claude-9]
            """;

        var errors = ConfigLoader.Parse(yaml, "/srv").Errors;

        Assert.Contains(errors, e => e.Contains("'fastest' is not one of", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routing.models.gpt-5: unknown model", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("gpt-us: not a deployment", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("cannot share a model's id", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown model 'claude-9'", StringComparison.Ordinal));
    }

    [Fact]
    public void AModelsEntryWithoutAStrategy_TakesTheSections()
    {
        var yaml = Catalog + """

            routing:
              strategy: lowest-cost
              models:
                gpt-4.1: { weights: { gpt-sg: 3 } }
            """;

        var routing = ConfigLoader.Parse(yaml, "/srv").Config!.Routing;

        Assert.Equal(Corridor.Core.Routing.RoutingStrategy.LowestCost, routing.For("gpt-4.1").Strategy);
    }

    [Theory]
    [InlineData("breaker: { openSeconds: 0 }", "routing.breaker.openSeconds must be at least 1")]
    [InlineData("breaker: { openSeconds: -5 }", "routing.breaker.openSeconds must be at least 1")]
    [InlineData("breaker: { failures: 0 }", "routing.breaker.failures must be at least 1")]
    [InlineData("models: { gpt-4.1: { strategy: weighted, weights: { gpt-sg: -1 } } }", "weight must not be negative")]
    public void RoutingNumbersOutOfRange_AreListed(string setting, string error)
    {
        var errors = ConfigLoader.Parse(Catalog + "\nrouting:\n  " + setting + "\n", "/srv").Errors;

        Assert.Contains(errors, e => e.Contains(error, StringComparison.Ordinal));
    }

    [Fact]
    public void NumbersAboveTheLargestInteger_AreTheLargest_NotWrapped()
    {
        var routing = ConfigLoader.Parse(Catalog + "\nrouting:\n  breaker: { failures: 4294967297 }\n  models: { gpt-4.1: { strategy: weighted, weights: { gpt-sg: 4294967297 } } }\n", "/srv").Config!.Routing;

        Assert.Equal(int.MaxValue, routing.For("gpt-4.1").Weights!["gpt-sg"]);
        Assert.Equal(int.MaxValue, routing.BreakerFailureThreshold);
    }

}

public sealed class PricingAndShadowConfigTests
{
    private const string Minimal = """
        vendors:
          - { id: openai, kind: openai, baseUrl: "https://api.openai.com/v1" }
        models:
          - { id: gpt-4.1, vendor: openai, capabilities: [chat, tools], contextWindow: 1047576 }
        deployments:
          - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
        """;

    [Fact]
    public void SellPrices_Markup_AndShadowPairs_AreRead()
    {
        var yaml = Minimal.Replace("contextWindow: 1047576 }", "contextWindow: 1047576, sell: { markup: 0.2 } }", StringComparison.Ordinal)
            + """

              - { id: gpt-jp, model: gpt-4.1, region: jp-east, price: { input: 2, output: 8 }, sell: { input: 3, output: 12 } }
              - { id: mini-sg, model: gpt-4.1-mini, region: sg, price: { input: 0.4, output: 1.6 } }
            pricing:
              markup: 0.15
            routing:
              aliases:
                chat-default: [gpt-4.1]
            shadow:
              queue: 32
              concurrency: 3
              compareChars: 2000
              models:
                chat-default: { candidate: gpt-4.1-mini, share: 0.25, maxInFlight: 2 }
            """;
        yaml = yaml.Replace("\nmodels:\n", "\nmodels:\n  - { id: gpt-4.1-mini, vendor: openai, capabilities: [chat], contextWindow: 1047576 }\n", StringComparison.Ordinal);

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var config = result.Config!;
        Assert.Equal(0.15m, config.Catalog.DefaultMarkup);
        Assert.Equal(new SellPrice(Markup: 0.2m), config.Catalog.Models.Single(m => m.Id == "gpt-4.1").Sell);
        Assert.Equal(new SellPrice(3m, 12m), config.Catalog.Deployments.Single(d => d.Id == "gpt-jp").Sell);
        Assert.Null(config.Catalog.Deployments.Single(d => d.Id == "gpt-sg").Sell);
        Assert.Equal((32, 3, 2000), (config.Shadow.QueueCapacity, config.Shadow.Concurrency, config.Shadow.CompareChars));
        Assert.Equal(new Corridor.Core.Shadow.ShadowPair("chat-default", "gpt-4.1-mini", 0.25, 2), config.Shadow.Pairs["chat-default"]);
        Assert.Equal("chat-default", config.Shadow.For("gpt-4.1", "chat-default")!.Source);
        Assert.Null(config.Shadow.For("gpt-4.1", "gpt-4.1"));
    }

    [Fact]
    public void PromptCachePrices_AreRead_ForTheVendorsPriceAndTheSellPrice()
    {
        var yaml = Minimal + """

              - { id: claude-jp, model: gpt-4.1, region: jp-east, price: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }, sell: { input: 4, output: 20, cacheRead: 0.4, cacheWrite: 5 } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var deployment = result.Config!.Catalog.Deployments.Single(d => d.Id == "claude-jp");
        Assert.Equal((0.3m, 3.75m), (deployment.CacheReadPricePerMillion, deployment.CacheWritePricePerMillion));
        Assert.Equal(new SellPrice(4m, 20m) { CacheReadPerMillion = 0.4m, CacheWritePerMillion = 5m }, deployment.Sell);
        var plain = result.Config.Catalog.Deployments.Single(d => d.Id == "gpt-sg");
        Assert.Equal((null, null), (plain.CacheReadPricePerMillion, plain.CacheWritePricePerMillion));
    }

    [Fact]
    public void LongContextPrices_AreRead_ForTheVendorsPriceAndTheSellPrice_AndTheirMistakesStopStart()
    {
        var yaml = Minimal + """

              - id: claude-us
                model: gpt-4.1
                region: us-east
                price: { input: 3, output: 15, cacheRead: 0.3, longContext: { above: 200000, input: 6, output: 22.50, cacheRead: 0.6 } }
                sell: { input: 4, output: 20, longContext: { above: 200000, input: 8, output: 30 } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var deployment = result.Config!.Catalog.Deployments.Single(d => d.Id == "claude-us");
        Assert.Equal(new LongContextPrice(200_000, 6m, 22.5m) { CacheReadPerMillion = 0.6m }, deployment.LongContext);
        Assert.Equal(new LongContextPrice(200_000, 8m, 30m), deployment.Sell!.LongContext);
        Assert.Null(result.Config.Catalog.Deployments.Single(d => d.Id == "gpt-sg").LongContext);

        var bad = ConfigLoader.Parse(yaml.Replace("longContext: { above: 200000, input: 6, output: 22.50, cacheRead: 0.6 }", "longContext: { abov: 200000, input: 6 }", StringComparison.Ordinal)
            .Replace("longContext: { above: 200000, input: 8, output: 30 }", "longContext: { above: lots, input: 8, output: 30 }", StringComparison.Ordinal), "/srv/corridor");

        Assert.False(bad.Succeeded);
        Assert.Contains(bad.Errors, e => e.Contains("1:price:longContext.above: the threshold in prompt tokens is required", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("1:price:longContext.output: a price per million tokens is required", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("price.longContext.abov (line", StringComparison.Ordinal) && e.EndsWith("did you mean above?", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("longContext.above: 'lots' is not a whole number", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("(claude-us).price.longContext: give cacheRead as the prices it replaces do", StringComparison.Ordinal));
        Assert.Equal(5, bad.Errors.Count);
    }

    [Fact]
    public void WebSearchPrices_AreRead_ForTheVendorsPriceAndTheSellPrice()
    {
        var yaml = Minimal + """

              - { id: claude-us, model: gpt-4.1, region: us-east, price: { input: 3, output: 15, webSearch: 10.00 }, sell: { input: 4, output: 20, webSearch: 12.5 } }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var deployment = result.Config!.Catalog.Deployments.Single(d => d.Id == "claude-us");
        Assert.Equal(10m, deployment.WebSearchPricePerThousand);
        Assert.Equal(12.5m, deployment.Sell!.WebSearchPerThousand);
        Assert.Null(result.Config.Catalog.Deployments.Single(d => d.Id == "gpt-sg").WebSearchPricePerThousand);
    }

    [Fact]
    public void BatchDiscounts_AreRead_ForTheCatalogAndEachSellPrice()
    {
        var yaml = Minimal.Replace("contextWindow: 1047576 }", "contextWindow: 1047576, sell: { input: 3, output: 12, batchDiscount: 0.5 } }", StringComparison.Ordinal)
            + """

              - { id: gpt-jp, model: gpt-4.1, region: jp-east, price: { input: 2, output: 8 }, sell: { markup: 0.2, batchDiscount: 0.25 } }
            pricing:
              batchDiscount: 0.4
            """;

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var catalog = result.Config!.Catalog;
        Assert.Equal(0.4m, catalog.DefaultBatchDiscount);
        Assert.Equal(new SellPrice(3m, 12m) { BatchDiscount = 0.5m }, catalog.Models.Single().Sell);
        Assert.Equal(new SellPrice(Markup: 0.2m) { BatchDiscount = 0.25m }, catalog.Deployments.Single(d => d.Id == "gpt-jp").Sell);
        Assert.Equal(0m, ConfigLoader.Parse(Minimal, "/srv/corridor").Config!.Catalog.DefaultBatchDiscount);
    }

    [Theory]
    [InlineData("pricing: { batchDiscount: -0.5 }", "pricing.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)")]
    [InlineData("pricing: { batchDiscount: 1.5 }", "pricing.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)")]
    [InlineData("pricing: { batchDiscount: half }", "pricing.batchDiscount: 'half' is not a number")]
    [InlineData("pricing: { batchDiscont: 0.5 }", "did you mean batchDiscount?")]
    public void BadBatchDiscounts_StopStart_WithAClearError(string pricing, string error)
    {
        var result = ConfigLoader.Parse(Minimal + "\n" + pricing + "\n", "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(error, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("batches: { maxTenantBytes: 100 }", "batches.maxTenantBytes must be 1024 to 1099511627776")]
    [InlineData("batches: { maxTenantBytes: 2000000000000 }", "batches.maxTenantBytes must be 1024 to 1099511627776")]
    [InlineData("batches: { maxTenantByte: 5000 }", "did you mean maxTenantBytes?")]
    [InlineData("batches: { fileRetentionDays: 0 }", "batches.fileRetentionDays must be 1 to 3650")]
    [InlineData("batches: { fileRetentionDays: 99999999999999 }", "batches.fileRetentionDays must be 1 to 3650")]
    [InlineData("batches: { resultsRetentionDays: 3651 }", "batches.resultsRetentionDays must be 1 to 3650")]
    [InlineData("batches: { resultsRetentionDays: 1, completionWindowSeconds: 172800 }", "batches.resultsRetentionDays must be longer than batches.completionWindowSeconds")]
    [InlineData("batches: { fileRetention: 30 }", "did you mean fileRetentionDays?")]
    public void BadBatchStorageLimits_StopStart_WithAClearError(string batches, string error)
    {
        var result = ConfigLoader.Parse(Minimal + "\n" + batches + "\n", "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(error, StringComparison.Ordinal));
        Assert.Equal(10L << 30, ConfigLoader.Parse(Minimal, "/srv/corridor").Config!.Batches.MaxTenantBytes);
    }

    [Fact]
    public void BatchFilesAndResults_AreKeptAsOpenAIAndAnthropicKeepThem_UnlessTheOperatorSays()
    {
        var defaults = ConfigLoader.Parse(Minimal, "/srv/corridor").Config!.Batches;
        Assert.Equal((TimeSpan.FromDays(30), TimeSpan.FromDays(29)), (defaults.EffectiveFileRetention, defaults.EffectiveResultsRetention));

        var set = ConfigLoader.Parse(Minimal + "\nbatches: { fileRetentionDays: 7, resultsRetentionDays: 90 }\n", "/srv/corridor").Config!.Batches;
        Assert.Equal((TimeSpan.FromDays(7), TimeSpan.FromDays(90)), (set.EffectiveFileRetention, set.EffectiveResultsRetention));
    }

    [Theory]
    [InlineData("responses: { retentionDays: 0 }", "responses.retentionDays must be 1 to 3650")]
    [InlineData("responses: { retentionDays: 3651 }", "responses.retentionDays must be 1 to 3650")]
    [InlineData("responses: { retention: 7 }", "did you mean retentionDays?")]
    [InlineData("responses: { maxTenantBytes: 1000 }", "responses.maxTenantBytes must be 1024 to 1099511627776")]
    public void ABadResponseRetention_StopsStart_WithAClearError(string responses, string error)
    {
        var result = ConfigLoader.Parse(Minimal + "\n" + responses + "\n", "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(error, StringComparison.Ordinal));
    }

    [Fact]
    public void StoredResponses_AreKept30Days_AsOpenAIKeepsThem_UnlessTheOperatorSays()
    {
        Assert.Equal(TimeSpan.FromDays(30), ConfigLoader.Parse(Minimal, "/srv/corridor").Config!.Responses.EffectiveRetention);
        Assert.Equal(TimeSpan.FromDays(7), ConfigLoader.Parse(Minimal + "\nresponses: { retentionDays: 7 }\n", "/srv/corridor").Config!.Responses.EffectiveRetention);
        Assert.Equal(10L << 30, ConfigLoader.Parse(Minimal, "/srv/corridor").Config!.Responses.MaxTenantBytes);
        Assert.Equal(1L << 20, ConfigLoader.Parse(Minimal + "\nresponses: { maxTenantBytes: 1048576 }\n", "/srv/corridor").Config!.Responses.MaxTenantBytes);
    }

    [Fact]
    public void ASellPricesBatchDiscountAboveOne_StopsStart_NamingTheDeployment()
    {
        var yaml = Minimal.Replace("price: { input: 2, output: 8 } }", "price: { input: 2, output: 8 }, sell: { input: 3, output: 12, batchDiscount: 2 } }", StringComparison.Ordinal);

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("deployments[0] (gpt-sg).sell.batchDiscount must be between 0 and 1", StringComparison.Ordinal));
    }

    [Fact]
    public void ShadowMistakes_AreAllListed()
    {
        var yaml = Minimal + """

            shadow:
              queue: 0
              models:
                gpt-4.1: { candidate: gpt-4.1, share: 1.5, maxInFlight: 0 }
                nope: { candidate: also-nope, share: 0.1 }
            """;

        var result = ConfigLoader.Parse(yaml, "/srv/corridor");

        Assert.False(result.Succeeded);
        Assert.Contains("shadow.models.gpt-4.1.candidate: a model cannot shadow itself", result.Errors);
        Assert.Contains("shadow.models.gpt-4.1.share must be between 0 and 1", result.Errors);
        Assert.Contains("shadow.models.gpt-4.1.maxInFlight must be at least 1", result.Errors);
        Assert.Contains("shadow.models.nope: unknown model or alias", result.Errors);
        Assert.Contains("shadow.models.nope.candidate: unknown model 'also-nope'", result.Errors);
        Assert.Contains("shadow.queue must be at least 1", result.Errors);
    }
}
