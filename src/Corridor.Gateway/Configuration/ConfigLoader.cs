using System.Globalization;
using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Routing;
using Corridor.Core.Shadow;
using Corridor.Core.Yaml;
using Corridor.Storage;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Corridor.Gateway.Configuration;

/// <summary>The outcome of loading <c>corridor.yaml</c>: a config, or every error found.</summary>
public sealed record ConfigLoadResult(CorridorConfig? Config, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Config is not null && Errors.Count == 0;

    /// <summary>Every file the load read or tried to read, corridor.yaml first and then the policy's includes.</summary>
    public IReadOnlyList<ConfigFile> Files { get; init; } = [];
}

/// <summary>A file a configuration was read from (full path), and its last write time taken just before it was read.</summary>
public sealed record ConfigFile(string Path, DateTime LastWrite)
{
    /// <summary>Stamps <paramref name="path"/> now; a file that cannot be stat'ed gets <see cref="DateTime.MinValue"/>.</summary>
    public static ConfigFile Stamp(string path)
    {
        try
        {
            return new ConfigFile(path, File.GetLastWriteTimeUtc(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigFile(path, DateTime.MinValue);
        }
    }
}

/// <summary>
/// Reads <c>corridor.yaml</c> into <see cref="CorridorConfig"/>. The YAML is flattened into configuration keys
/// (<c>deployments:0:region</c>) so that environment variables <c>CORRIDOR__Section__Key</c> override any value,
/// then mapped by hand so every mistake is reported with its path, all at once. A key nothing reads (a typo, a setting
/// in the wrong section) is one of those mistakes (<see cref="ReadKeys"/>).
/// </summary>
public static class ConfigLoader
{
    public const string EnvironmentPrefix = "CORRIDOR__";

    public static ConfigLoadResult Load(string path)
    {
        // Each file is stamped before it is read, so a change made after the stamp (even while loading) differs from it.
        var files = new List<ConfigFile> { ConfigFile.Stamp(Path.GetFullPath(path)) };
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [$"{path}: {e.Message}"]) { Files = files };
        }
        var baseDirectory = Path.GetDirectoryName(files[0].Path) ?? Directory.GetCurrentDirectory();
        // The policy's included files are noted as they are read, so the watcher reloads when one of them changes too.
        var result = Parse(text, baseDirectory, Environment.GetEnvironmentVariables(), file =>
        {
            files.Add(ConfigFile.Stamp(file));
            return File.ReadAllText(file);
        });
        return result with { Files = files };
    }

    /// <summary>Parses YAML text. Relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static ConfigLoadResult Parse(string yaml, string baseDirectory, System.Collections.IDictionary? environment = null) =>
        Parse(yaml, baseDirectory, environment, File.ReadAllText);

    private static ConfigLoadResult Parse(string yaml, string baseDirectory, System.Collections.IDictionary? environment, Func<string, string> readFile)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        PolicyLoadResult? policy = null;
        var root = new YamlMappingNode();
        var shapeErrors = new List<string>();
        var loaded = YamlText.Load(yaml, "corridor.yaml");
        if (loaded.Error is { } unloadable)
        {
            return new ConfigLoadResult(null, [unloadable.In("corridor.yaml")]);
        }
        if (loaded.Root is YamlMappingNode mapping)
        {
            root = mapping;
            // Policy is read as YAML by its own loader (with includes); it is not subject to environment overrides.
            if (root.Children.TryGetValue(new YamlScalarNode(PolicyLoader.SectionName), out var section))
            {
                policy = PolicyLoader.Load(section, baseDirectory, readFile);
                root.Children.Remove(new YamlScalarNode(PolicyLoader.SectionName));
            }
            Flatten(root, "", values, shapeErrors);
        }
        else if (loaded.Root is { } other and not YamlScalarNode { Value: null or "" })
        {
            shapeErrors.Add(At(other.Start, "the file must be a mapping of sections (vendors, models, deployments, ...)"));
        }
        if (shapeErrors.Count > 0)
        {
            return new ConfigLoadResult(null, shapeErrors);
        }

        var overrides = environment is null ? [] : EnvironmentOverrides(environment);
        var builder = new ConfigurationBuilder()
            .AddInMemoryCollection(values)
            .AddInMemoryCollection(overrides.Select(o => KeyValuePair.Create(o.Path, o.Value)));
        // What the reader reads is what is known: a key of the file or an override it never read is reported, first.
        var keys = new ReadKeys(PolicyLoader.SectionName);
        var reader = new SectionReader(keys.Track(builder.Build()));
        var config = reader.Read(baseDirectory) with { Policy = policy };
        var errors = reader.Errors;
        errors.InsertRange(0, keys.Unknown(root, overrides.Select(o => (o.Variable, o.Path))));
        // Check the catalog and routing too, so one run lists every mistake in the file.
        var catalog = Catalog.TryCreate(config.Catalog, out var catalogErrors);
        errors.AddRange(catalogErrors);
        if (catalog is not null)
        {
            errors.AddRange(config.Routing.Validate(catalog));
            errors.AddRange(config.Shadow.Validate(catalog, config.Routing.Aliases));
            if (policy is not null)
            {
                CompiledPolicy.TryCreate(policy, catalog, out var policyErrors);
                errors.AddRange(policyErrors);
            }
        }
        else if (policy is not null)
        {
            errors.AddRange(policy.Errors);
        }
        return errors.Count == 0 ? new ConfigLoadResult(config, errors) : new ConfigLoadResult(null, errors);
    }

    /// <summary>Each <c>CORRIDOR__</c> variable, with the configuration path it sets (<c>CORRIDOR__server__urls</c>: <c>server:urls</c>).</summary>
    private static List<(string Variable, string Path, string? Value)> EnvironmentOverrides(System.Collections.IDictionary environment)
    {
        var overrides = new List<(string, string, string?)>();
        foreach (System.Collections.DictionaryEntry entry in environment)
        {
            if (entry.Key is string key && key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                overrides.Add((key, key[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), entry.Value as string));
            }
        }
        return overrides;
    }

    /// <summary>
    /// Flattens the file into configuration keys, reporting what none can be: a key that is a list or a mapping
    /// (<c>? [a, b] : c</c>). <see cref="YamlText"/> bounded how deep and how many the nodes are, aliases expanded.
    /// </summary>
    private static void Flatten(YamlNode node, string prefix, Dictionary<string, string?> values, List<string> errors)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode scalar)
                    {
                        errors.Add(At(key.Start, $"a key must be a single value, not a {(key is YamlSequenceNode ? "list" : "mapping")}"));
                        continue;
                    }
                    var name = scalar.Value ?? "";
                    Flatten(value, prefix.Length == 0 ? name : $"{prefix}:{name}", values, errors);
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Flatten(sequence.Children[i], $"{prefix}:{i}", values, errors);
                }
                break;
            case YamlScalarNode scalar:
                values[prefix] = scalar.Value;
                break;
        }
    }

    private static string At(Mark mark, string message) => $"corridor.yaml line {mark.Line}, column {mark.Column}: {message}";

    /// <summary>Maps configuration sections to records, collecting errors instead of throwing.</summary>
    private sealed class SectionReader(IConfiguration root)
    {
        public List<string> Errors { get; } = [];

        public CorridorConfig Read(string baseDirectory)
        {
            var server = root.GetSection("server");
            var defaults = new ServerOptions();
            var serverOptions = new ServerOptions(
                Urls: server["urls"] ?? defaults.Urls,
                MaxRequestBodyBytes: Long(server, "maxRequestBodyBytes") ?? defaults.MaxRequestBodyBytes,
                AdminTokenEnv: server["adminTokenEnv"] ?? defaults.AdminTokenEnv,
                StreamIdleTimeout: Seconds(server, "streamIdleTimeoutSeconds"),
                ConnectTimeout: Seconds(server, "connectTimeoutSeconds"),
                ShutdownTimeout: Seconds(server, "shutdownTimeoutSeconds"))
            {
                MetricsTokenEnv = server["metricsTokenEnv"] ?? defaults.MetricsTokenEnv,
                ReasoningKeyEnv = server["reasoningKeyEnv"] ?? defaults.ReasoningKeyEnv,
                ReasoningPreviousKeyEnv = server["reasoningPreviousKeyEnv"] ?? defaults.ReasoningPreviousKeyEnv,
                Clients = new ClientLimits(
                    MaxRequestHeaderBytes: Int(server, "maxRequestHeaderBytes") ?? ClientLimits.Default.MaxRequestHeaderBytes,
                    MaxRequestHeaderCount: Int(server, "maxRequestHeaderCount") ?? ClientLimits.Default.MaxRequestHeaderCount,
                    RequestHeadersTimeout: Seconds(server, "requestHeadersTimeoutSeconds"),
                    MinRequestBodyBytesPerSecond: Long(server, "minRequestBodyBytesPerSecond") ?? ClientLimits.Default.MinRequestBodyBytesPerSecond,
                    MinRequestBodyGrace: Seconds(server, "minRequestBodyGraceSeconds")),
            };
            if (serverOptions.MaxRequestBodyBytes <= 0)
            {
                Errors.Add("server.maxRequestBodyBytes must be positive");
            }
            Errors.AddRange(serverOptions.Clients.Validate());
            // Zero or less would time out every upstream call at once (or throw where a timer is armed with it).
            if (serverOptions.StreamIdleTimeout is { } idle && idle <= TimeSpan.Zero)
            {
                Errors.Add("server.streamIdleTimeoutSeconds must be positive");
            }
            if (serverOptions.ConnectTimeout is { } connect && connect <= TimeSpan.Zero)
            {
                Errors.Add("server.connectTimeoutSeconds must be positive");
            }
            if (serverOptions.ShutdownTimeout is { } shutdown && (shutdown < TimeSpan.Zero || shutdown > ServerOptions.MaxShutdownTimeout))
            {
                Errors.Add($"server.shutdownTimeoutSeconds must be between 0 and {ServerOptions.MaxShutdownTimeout.TotalSeconds:0}");
            }

            var storage = root.GetSection("storage");
            var sqlite = storage["sqlite"] ?? StorageOptions.DefaultSqlitePath;
            var storageOptions = new StorageOptions(
                Path.GetFullPath(sqlite, baseDirectory),
                string.IsNullOrWhiteSpace(storage["postgres"]) ? null : storage["postgres"]);
            if (storageOptions.PostgresConnectionStringProblem() is { } problem)
            {
                // Before, the store's constructor threw it at start: an unhandled exception and a stack trace.
                Errors.Add($"storage.postgres is not a valid Npgsql connection string: {problem}");
            }
            switch (storage["sqliteSync"]?.Trim().ToLowerInvariant())
            {
                case null or "normal":
                    break;
                case "full":
                    storageOptions = storageOptions with { SqliteFullSync = true };
                    break;
                default:
                    Errors.Add("storage.sqliteSync must be normal or full");
                    break;
            }
            if (Seconds(storage, "unavailableGraceSeconds") is { } grace)
            {
                storageOptions = storageOptions with { UnavailableGrace = grace };
                if (grace <= TimeSpan.Zero)
                {
                    Errors.Add("storage.unavailableGraceSeconds must be positive");
                }
            }
            if (Seconds(storage, "leaseExpirySeconds") is { } expiry)
            {
                storageOptions = storageOptions with { LeaseExpiry = expiry };
                if (expiry < TimeSpan.FromSeconds(2))
                {
                    Errors.Add("storage.leaseExpirySeconds must be at least 2");
                }
            }

            var ledger = root.GetSection("ledger");
            var ledgerDefaults = new LedgerOptions();
            var ledgerOptions = new LedgerOptions(
                BatchSize: Int(ledger, "batchSize") ?? ledgerDefaults.BatchSize,
                FlushInterval: Int(ledger, "flushIntervalMs") is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                RetainBodies: Bool(ledger, "retainBodies") ?? ledgerDefaults.RetainBodies,
                RetainMaxChars: Int(ledger, "retainMaxChars") ?? ledgerDefaults.RetainMaxChars,
                RetainRequestMaxBytes: Int(ledger, "retainRequestMaxBytes") ?? ledgerDefaults.RetainRequestMaxBytes,
                SpoolPath: Path.GetFullPath(ledger["spool"] ?? LedgerOptions.DefaultSpoolPath, baseDirectory));
            Errors.AddRange(ledgerOptions.Validate());

            var batches = root.GetSection("batches");
            var batchOptions = new Batches.BatchOptions(
                Concurrency: Int(batches, "concurrency") ?? Batches.BatchOptions.Default.Concurrency,
                Parallel: Int(batches, "parallel") ?? Batches.BatchOptions.Default.Parallel,
                MaxRequests: Int(batches, "maxRequests") ?? Batches.BatchOptions.Default.MaxRequests,
                MaxFileBytes: Long(batches, "maxFileBytes") ?? Batches.BatchOptions.Default.MaxFileBytes,
                CompletionWindow: Seconds(batches, "completionWindowSeconds"),
                MaxTenantBytes: Long(batches, "maxTenantBytes") ?? Batches.BatchOptions.Default.MaxTenantBytes,
                LimitShare: Double(batches, "limitShare") ?? Batches.BatchOptions.Default.LimitShare,
                FileRetention: Days(batches, "fileRetentionDays"),
                ResultsRetention: Days(batches, "resultsRetentionDays"));
            Errors.AddRange(batchOptions.Validate());

            var responses = root.GetSection("responses");
            var responsesOptions = new StoredResponses.ResponsesOptions(
                Retention: Days(responses, "retentionDays"),
                MaxTenantBytes: Long(responses, "maxTenantBytes") ?? StoredResponses.ResponsesOptions.Default.MaxTenantBytes);
            Errors.AddRange(responsesOptions.Validate());

            var catalog = new CatalogConfig(
                Items(root.GetSection("vendors"), ReadVendor),
                Items(root.GetSection("models"), ReadModel),
                Items(root.GetSection("deployments"), ReadDeployment))
            {
                DefaultMarkup = Decimal(root.GetSection("pricing"), "markup") ?? 0m,
                DefaultBatchDiscount = Decimal(root.GetSection("pricing"), "batchDiscount") ?? 0m,
            };
            return new CorridorConfig(serverOptions, storageOptions, ledgerOptions, catalog)
            {
                Routing = ReadRouting(root.GetSection("routing")),
                Shadow = ReadShadow(root.GetSection("shadow")),
                Admission = ReadAdmission(root.GetSection("limits")),
                Monitor = MonitorSection.Read(root.GetSection("monitor"), Errors),
                Observability = ReadObservability(root.GetSection("observability")),
                Batches = batchOptions,
                Responses = responsesOptions,
            };
        }

        private Observability.ObservabilityOptions ReadObservability(IConfigurationSection s)
        {
            var format = Observability.LogFormat.Auto;
            if (s["logFormat"] is { Length: > 0 } formatText && !Enum.TryParse(formatText, ignoreCase: true, out format))
            {
                Errors.Add($"observability.logFormat must be auto, text or json (was '{formatText}')");
            }
            Uri? endpoint = null;
            var endpointText = s["otlpEndpoint"] is { Length: > 0 } configured ? configured : Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
            if (!string.IsNullOrWhiteSpace(endpointText) && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
            {
                Errors.Add($"observability.otlpEndpoint must be an http or https URL (was '{endpointText}')");
                endpoint = null;
            }
            var protocol = s["otlpProtocol"] is { Length: > 0 } p ? p : "grpc";
            if (protocol is not ("grpc" or "http/protobuf"))
            {
                Errors.Add($"observability.otlpProtocol must be grpc or http/protobuf (was '{protocol}')");
            }
            var options = new Observability.ObservabilityOptions(format, endpoint, protocol,
                Seconds(s, "otlpExportIntervalSeconds"), Seconds(s, "readyMaxLedgerLagSeconds"));
            if (options.EffectiveOtlpExportInterval <= TimeSpan.Zero)
            {
                Errors.Add("observability.otlpExportIntervalSeconds must be positive");
            }
            if (options.EffectiveReadyMaxLedgerLag <= TimeSpan.Zero)
            {
                Errors.Add("observability.readyMaxLedgerLagSeconds must be positive");
            }
            return options;
        }

        private AdmissionOptions ReadAdmission(IConfigurationSection s)
        {
            var defaults = AdmissionOptions.Default;
            var options = new AdmissionOptions(
                s["currency"] is { Length: > 0 } currency ? currency.Trim() : defaults.Currency,
                Double(s, "inputTokenWeight") ?? defaults.InputTokenWeight,
                Double(s, "outputTokenWeight") ?? defaults.OutputTokenWeight,
                Int(s, "defaultMaxOutputTokens") ?? defaults.DefaultMaxOutputTokens)
            {
                TenantDefaults = ReadLimits(s.GetSection("tenantDefaults")),
                KeyDefaults = ReadLimits(s.GetSection("keyDefaults")),
            };
            if (options.InputTokenWeight < 0 || options.OutputTokenWeight < 0)
            {
                Errors.Add("limits.inputTokenWeight and limits.outputTokenWeight must not be negative");
            }
            if (options.DefaultMaxOutputTokens <= 0)
            {
                Errors.Add("limits.defaultMaxOutputTokens must be positive");
            }
            return options;
        }

        private Limits ReadLimits(IConfigurationSection s)
        {
            var errors = new List<string>();
            var limits = new LimitsEdit
            {
                RequestsPerMinute = s["rpm"],
                TokensPerMinute = s["tpm"],
                ConcurrentStreams = s["concurrentStreams"],
                DailySoftBudget = s["dailySoftBudget"],
                DailyHardBudget = s["dailyBudget"],
                MonthlySoftBudget = s["monthlySoftBudget"],
                MonthlyHardBudget = s["monthlyBudget"],
            }.ApplyTo(Limits.None, errors);
            Errors.AddRange(errors.Select(e => $"{s.Path}: {e}"));
            return limits ?? Limits.None;
        }

        private ShadowConfig ReadShadow(IConfigurationSection s)
        {
            var defaults = ShadowConfig.None;
            var pairs = new Dictionary<string, ShadowPair>(StringComparer.Ordinal);
            foreach (var model in s.GetSection("models").GetChildren())
            {
                pairs[model.Key] = new ShadowPair(model.Key, model["candidate"] ?? "", Double(model, "share") ?? 0, Int(model, "maxInFlight"));
            }
            return new ShadowConfig(
                pairs,
                Int(s, "queue") ?? defaults.QueueCapacity,
                Int(s, "concurrency") ?? defaults.Concurrency,
                Int(s, "compareChars") ?? defaults.CompareChars);
        }

        /// <summary><c>sell: { input, output }</c> per million tokens, or <c>sell: { markup }</c>, either with a <c>batchDiscount</c>; null when absent.</summary>
        private SellPrice? Sell(IConfigurationSection s)
        {
            var sell = s.GetSection("sell");
            return sell.Exists()
                ? new SellPrice(Decimal(sell, "input"), Decimal(sell, "output"), Decimal(sell, "markup"))
                {
                    CacheReadPerMillion = Decimal(sell, "cacheRead"),
                    CacheWritePerMillion = Decimal(sell, "cacheWrite"),
                    CacheWriteOneHourPerMillion = Decimal(sell, "cacheWrite1h"),
                    BatchDiscount = Decimal(sell, "batchDiscount"),
                    LongContext = LongContext(sell),
                    WebSearchPerThousand = Decimal(sell, "webSearch"),
                }
                : null;
        }

        /// <summary>
        /// <c>longContext: { above, input, output }</c> (threshold in prompt tokens, prices per million tokens, the cache's
        /// optional) under a <c>price</c> or <c>sell</c>; null when absent.
        /// </summary>
        private LongContextPrice? LongContext(IConfigurationSection prices)
        {
            var tier = prices.GetSection("longContext");
            if (!tier.Exists())
            {
                return null;
            }
            // A threshold missing or not a number has failed the load already: the placeholder passes the validator, so the
            // mistake is named once.
            return new LongContextPrice(
                tier["above"] is null ? MissingThreshold(tier) : Long(tier, "above") ?? long.MaxValue,
                Decimal(tier, "input") ?? Missing(tier, "input"),
                Decimal(tier, "output") ?? Missing(tier, "output"))
            {
                CacheReadPerMillion = Decimal(tier, "cacheRead"),
                CacheWritePerMillion = Decimal(tier, "cacheWrite"),
                CacheWriteOneHourPerMillion = Decimal(tier, "cacheWrite1h"),
            };
        }

        private long MissingThreshold(IConfigurationSection tier)
        {
            Errors.Add($"{tier.Path}.above: the threshold in prompt tokens is required (a request whose prompt exceeds it is priced at the tier)");
            return long.MaxValue;
        }

        private RoutingConfig ReadRouting(IConfigurationSection s)
        {
            // A model's entry without a strategy of its own (weights only, say) takes the section's, as a model without an entry does.
            var strategy = Strategy(s, "strategy") ?? RoutingConfig.Default.DefaultStrategy;
            var models = new Dictionary<string, ModelRouting>(StringComparer.Ordinal);
            foreach (var model in s.GetSection("models").GetChildren())
            {
                var weights = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var weight in model.GetSection("weights").GetChildren())
                {
                    weights[weight.Key] = Long(model.GetSection("weights"), weight.Key) is { } value ? (int)Math.Clamp(value, -1, int.MaxValue) : 1;
                }
                models[model.Key] = new ModelRouting(Strategy(model, "strategy") ?? strategy, weights.Count > 0 ? weights : null);
            }
            var aliases = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var alias in s.GetSection("aliases").GetChildren())
            {
                aliases[alias.Key] = [.. Items(alias, c => c.Value ?? "")];
            }
            var defaults = RoutingConfig.Default;
            return new RoutingConfig(
                strategy,
                models,
                aliases,
                Double(s, "retryBudget") ?? defaults.RetryBudgetRatio,
                Long(s.GetSection("breaker"), "failures") is { } failures ? (int)Math.Clamp(failures, 0, int.MaxValue) : defaults.BreakerFailureThreshold,
                Seconds(s.GetSection("breaker"), "openSeconds"));
        }

        private RoutingStrategy? Strategy(IConfigurationSection s, string key)
        {
            switch (s[key])
            {
                case null: return null;
                case "priority": return RoutingStrategy.Priority;
                case "lowest-cost": return RoutingStrategy.LowestCost;
                case "lowest-latency": return RoutingStrategy.LowestLatency;
                case "weighted": return RoutingStrategy.Weighted;
                default:
                    Errors.Add($"{s.Path}.{key}: '{s[key]}' is not one of priority, lowest-cost, lowest-latency, weighted");
                    return null;
            }
        }

        private double? Double(IConfigurationSection s, string key) => (double?)Decimal(s, key);

        private static List<T> Items<T>(IConfigurationSection section, Func<IConfigurationSection, T> read) =>
            [.. section.GetChildren().OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue).Select(read)];

        private VendorConfig ReadVendor(IConfigurationSection s)
        {
            var kindText = s["kind"];
            VendorKind kind = VendorKind.OpenAI;
            switch (kindText)
            {
                case "openai": kind = VendorKind.OpenAI; break;
                case "azure-openai": kind = VendorKind.AzureOpenAI; break;
                case "anthropic": kind = VendorKind.Anthropic; break;
                default: Errors.Add($"{s.Path}.kind: '{kindText}' is not one of openai, azure-openai, anthropic"); break;
            }
            return new VendorConfig(s["id"] ?? "", kind, s["baseUrl"] ?? "", s["apiVersion"])
            {
                ThinkingSwitch = Bool(s, "thinkingSwitch"),
                Betas = [.. s.GetSection("betas").GetChildren().Select(item => item.Value ?? "")],
                EndUserId = s["endUserId"] switch
                {
                    null or "client" => EndUserId.Client,
                    "tenant" => EndUserId.Tenant,
                    "key" => EndUserId.Key,
                    "none" => EndUserId.None,
                    var other => UnknownEndUserId(s, other),
                },
                StructuredOutputs = Bool(s, "structuredOutputs") ?? false,
            };
        }

        private EndUserId UnknownEndUserId(IConfigurationSection s, string value)
        {
            Errors.Add($"{s.Path}.endUserId: '{value}' is not one of client, tenant, key, none");
            return EndUserId.Client;
        }

        private ModelConfig ReadModel(IConfigurationSection s)
        {
            var capabilities = ModelCapabilities.None;
            foreach (var item in s.GetSection("capabilities").GetChildren())
            {
                capabilities |= item.Value switch
                {
                    "chat" => ModelCapabilities.Chat,
                    "embeddings" => ModelCapabilities.Embeddings,
                    "tools" => ModelCapabilities.Tools,
                    "vision" => ModelCapabilities.Vision,
                    "reasoning" => ModelCapabilities.Reasoning,
                    _ => Unknown(item),
                };
            }
            return new ModelConfig(
                s["id"] ?? "",
                s["vendor"] ?? "",
                capabilities,
                Int(s, "contextWindow") ?? 0,
                s["family"],
                Int(s, "maxOutputTokens"))
            {
                Sell = Sell(s),
                ReasoningByDefault = Bool(s, "reasoningByDefault") ?? false,
            };

            ModelCapabilities Unknown(IConfigurationSection item)
            {
                Errors.Add($"{item.Path}: unknown capability '{item.Value}' (chat, embeddings, tools, vision, reasoning)");
                return ModelCapabilities.None;
            }
        }

        private DeploymentConfig ReadDeployment(IConfigurationSection s) => new(
            s["id"] ?? "",
            s["model"] ?? "",
            s["region"] ?? "",
            Decimal(s, "price:input") ?? Missing(s, "price.input"),
            Decimal(s, "price:output") ?? Missing(s, "price.output"),
            Int(s, "priority") ?? 0,
            s["endpoint"],
            s["credentialEnv"],
            s["upstreamModel"],
            s["via"])
        {
            Sell = Sell(s),
            CacheReadPricePerMillion = Decimal(s, "price:cacheRead"),
            CacheWritePricePerMillion = Decimal(s, "price:cacheWrite"),
            CacheWriteOneHourPricePerMillion = Decimal(s, "price:cacheWrite1h"),
            ServiceTier = s["serviceTier"],
            InferenceGeo = s["inferenceGeo"],
            LongContext = LongContext(s.GetSection("price")),
            WebSearchPricePerThousand = Decimal(s, "price:webSearch"),
        };

        private decimal Missing(IConfigurationSection s, string name)
        {
            Errors.Add($"{s.Path}.{name}: a price per million tokens is required");
            return 0m;
        }

        private long? Long(IConfigurationSection s, string key)
        {
            var text = s[key];
            if (text is null)
            {
                return null;
            }
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
            Errors.Add($"{s.Path}.{key}: '{text}' is not a whole number");
            return null;
        }

        /// <summary>A whole number, a value beyond an int's range becoming the nearest one (not wrapped), for the bounds checks to see.</summary>
        private int? Int(IConfigurationSection s, string key) => Long(s, key) is { } value ? (int)Math.Clamp(value, int.MinValue, int.MaxValue) : null;

        private decimal? Decimal(IConfigurationSection s, string key)
        {
            var text = s[key];
            if (text is null)
            {
                return null;
            }
            if (decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
            Errors.Add($"{s.Path}.{key.Replace(':', '.')}: '{text}' is not a number");
            return null;
        }

        private bool? Bool(IConfigurationSection s, string key)
        {
            var text = s[key];
            if (text is null)
            {
                return null;
            }
            if (bool.TryParse(text, out var value))
            {
                return value;
            }
            Errors.Add($"{s.Path}.{key}: '{text}' is not true or false");
            return null;
        }

        private TimeSpan? Seconds(IConfigurationSection s, string key) =>
            Long(s, key) is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

        /// <summary>A count of days; one past any a validator allows stays out of range rather than past what a TimeSpan holds.</summary>
        private TimeSpan? Days(IConfigurationSection s, string key) =>
            Long(s, key) is { } days ? TimeSpan.FromDays(Math.Clamp(days, -1, 1_000_000)) : null;
    }
}
