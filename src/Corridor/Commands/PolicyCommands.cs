using System.CommandLine;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor policy test|diff</c> and <c>corridor explain</c>: proving what policy decides, before and after it goes live.</summary>
internal static class PolicyCommands
{
    public static Command Policy(CliContext context)
    {
        var policy = new Command("policy", "Test a policy, or compare two versions against recent traffic");
        policy.Add(Test(context));
        policy.Add(Diff(context));
        return policy;
    }

    /// <summary><c>corridor policy test FILE</c>: runs policy test cases against the policy of <c>--config</c>; exits 1 on any mismatch.</summary>
    private static Command Test(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "Policy test cases (YAML): tenant + request → expected outcome and region" };
        var command = new Command("test", "Run policy test cases against the configured policy; fails on any mismatch") { file };
        context.SetAction(command, (parseResult, cancellationToken) =>
        {
            var policy = LoadPolicy(parseResult.GetRequiredValue(context.ConfigOption)).Policy;
            var path = parseResult.GetRequiredValue(file);
            if (!File.Exists(path))
            {
                throw new CliUserException($"test file '{path}' not found.");
            }
            var cases = PolicyTestFile.Parse(File.ReadAllText(path), path);
            if (cases.Errors.Count > 0)
            {
                throw CliUserException.FromErrors(cases.Errors);
            }
            var report = PolicyTestRunner.Run(policy, cases.Cases);
            foreach (var failure in report.Failures)
            {
                context.Out.WriteLine($"FAIL {failure}");
            }
            context.Out.WriteLine($"{report.Total - report.Failures.Count} of {report.Total} policy test cases passed (policy {policy.Version}).");
            return Task.FromResult(report.Passed ? 0 : 1);
        });
        return command;
    }

    /// <summary>
    /// <c>corridor policy diff OLD NEW</c>: decides the ledger's recent requests under both configurations (with each
    /// tenant's current profile) and lists every request whose outcome, reason or allowed regions would change.
    /// </summary>
    private static Command Diff(CliContext context)
    {
        var oldConfig = new Argument<string>("OLD") { Description = "The corridor.yaml in force" };
        var newConfig = new Argument<string>("NEW") { Description = "The proposed corridor.yaml" };
        var limit = new Option<int>("--limit") { Description = "How many of the most recent requests to replay", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var command = new Command("diff", "List what would change for recent requests under a new policy") { oldConfig, newConfig, limit };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var count = parseResult.GetValue(limit);
            if (count < 1)
            {
                throw new CliUserException("--limit must be at least 1.");
            }
            var before = LoadPolicy(parseResult.GetRequiredValue(oldConfig));
            var after = LoadPolicy(parseResult.GetRequiredValue(newConfig));
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var tenants = (await store.ListTenantsAsync(cancellationToken)).ToDictionary(t => t.Id, StringComparer.Ordinal);
            // Only the newest --limit requests of known tenants are read, not the ledger they end.
            var recent = await store.ReadRecentTenantRequestsAsync(count, cancellationToken);
            var (changed, decided) = (0, 0);
            foreach (var entry in recent)
            {
                // A tenant added since its list was read has no profile here: its request is passed over.
                if (!tenants.TryGetValue(entry.TenantId!, out var tenant))
                {
                    continue;
                }
                decided++;
                var features = Features(entry, out var needs);
                var wasText = before.Describe(tenant, entry, features, needs);
                var nowText = after.Describe(tenant, entry, features, needs);
                if (wasText != nowText)
                {
                    changed++;
                    context.Out.WriteLine($"{entry.RequestId} {entry.Time:yyyy-MM-dd'T'HH:mm:ss'Z'} {entry.TenantId} {entry.Model}: {wasText} -> {nowText}");
                }
            }
            context.Out.WriteLine($"{changed} of {decided} recent requests would be decided differently ({before.Policy.Version} -> {after.Policy.Version}).");
            return 0;
        });
        return command;
    }

    /// <summary><c>corridor explain ID</c>: a decision's input, outcome and rule trace, from the audit log.</summary>
    public static Command Explain(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "A decision id (x-corridor-decision) or request id (x-corridor-request-id)" };
        var command = new Command("explain", "Show why a request was allowed or refused: the decision and its rule trace") { id };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var subject = parseResult.GetRequiredValue(id);
            if (subject.StartsWith("req_", StringComparison.Ordinal))
            {
                subject = "dec_" + subject[4..];
            }
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var records = await store.SearchAuditAsync(new AuditQuery(subject, AuditActions.Decision, 1), cancellationToken);
            if (records.Count == 0)
            {
                throw new CliUserException($"no decision '{subject}' in the audit log.");
            }
            var record = records[0];
            using var details = JsonDocument.Parse(record.Details);
            context.Out.WriteLine($"decision {record.Subject} at {record.Time:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} (audit record {record.Sequence})");
            foreach (var property in details.RootElement.EnumerateObject())
            {
                if (property.Name != "trace")
                {
                    context.Out.WriteLine($"  {property.Name}: {property.Value}");
                }
            }
            context.Out.WriteLine("  trace:");
            foreach (var step in details.RootElement.GetProperty("trace").EnumerateArray())
            {
                context.Out.WriteLine($"    {step.GetProperty("rule").GetString()}: {step.GetProperty("outcome").GetString()}"
                    + (step.TryGetProperty("regions", out var regions) ? $" regions [{string.Join(", ", regions.EnumerateArray().Select(r => r.GetString()))}]" : ""));
            }
            return 0;
        });
        return command;
    }

    /// <summary>What the recorded request asked for, read by the front door's parser (as the gateway decided on it).</summary>
    private static RequestFeatures Features(Core.Metering.LedgerEntry entry, out ModelCapabilities needs)
    {
        needs = ModelCapabilities.None;
        return entry.RequestBody is { } body
            ? RecordedRequest.FeaturesOf(body.Memory.Span, entry.Model, entry.Endpoint, out needs)
            : new RequestFeatures(entry.Model);
    }

    private static string Describe(Decision decision)
    {
        if (!decision.Allowed)
        {
            return $"deny {decision.ReasonCode}";
        }
        var text = $"allow [{string.Join(",", decision.Deployments.Select(d => d.Region).Distinct())}]";
        var restrictions = decision.Restrictions;
        if (restrictions.MaxTokens is { } maxTokens)
        {
            text += $" max_tokens={maxTokens}";
        }
        if (restrictions.N is { } n)
        {
            text += $" n={n}";
        }
        if (restrictions.StripLogprobs)
        {
            text += " strip_logprobs";
        }
        return restrictions.StripReasoning ? text + " strip_reasoning" : text;
    }

    /// <summary>A configuration's policy, with what it needs to decide a ledger row as its gateway would: the catalog and the aliases.</summary>
    private sealed record LoadedPolicy(Catalog Catalog, CompiledPolicy Policy, IReadOnlyDictionary<string, IReadOnlyList<string>> Aliases)
    {
        /// <summary>
        /// The decision the gateway would reach for the request: its model's, or for an alias (the name a row keeps) each of the
        /// alias's models' that can serve the endpoint and what the request <paramref name="needs"/> (tools, images, reasoning),
        /// in order, since the gateway serves each of them under its own decision and never decides the others.
        /// </summary>
        public string Describe(Core.Tenants.Tenant tenant, Core.Metering.LedgerEntry entry, RequestFeatures features, ModelCapabilities needs)
        {
            string DecideFor(string model)
            {
                var input = DecisionInput.For(tenant, entry.KeyId, features with { Model = model }, entry.Time);
                return PolicyCommands.Describe(Policy.Decide(in input));
            }

            // A model's own id wins over an alias of the same name, as in the gateway.
            if (Catalog.TryGetModel(entry.Model, out _) || !Aliases.TryGetValue(entry.Model, out var ids))
            {
                return DecideFor(entry.Model);
            }
            var kind = entry.Endpoint == "/v1/embeddings" ? ModelCapabilities.Embeddings : ModelCapabilities.Chat;
            needs = ModelNeeds.Of(kind, needs, entry.Endpoint == Core.Metering.LedgerEntry.TokenCountEndpoint, (this, ids),
                static (s, n) => s.Item1.Capable(s.ids, n).Count > 0);
            var models = Capable(ids, needs);
            return models.Count == 0 ? DecideFor(entry.Model) : string.Join("; ", models.Select(m => $"{m}: {DecideFor(m)}"));
        }

        private List<string> Capable(IReadOnlyList<string> ids, ModelCapabilities needs) =>
            ids.Where(id => Catalog.TryGetModel(id, out var model) && model.Config.Capabilities.HasFlag(needs)).ToList();
    }

    private static LoadedPolicy LoadPolicy(string configPath)
    {
        if (!File.Exists(configPath))
        {
            throw new CliUserException($"config file '{configPath}' not found.");
        }
        var loaded = ConfigLoader.Load(configPath);
        if (!loaded.Succeeded)
        {
            throw CliUserException.FromErrors(loaded.Errors);
        }
        var catalog = Catalog.TryCreate(loaded.Config!.Catalog, out var errors) ?? throw CliUserException.FromErrors(errors);
        if (loaded.Config.Policy is not { } policySection)
        {
            throw new CliUserException($"{configPath} has no policy section.");
        }
        var policy = CompiledPolicy.TryCreate(policySection, catalog, out var policyErrors) ?? throw CliUserException.FromErrors(policyErrors);
        return new LoadedPolicy(catalog, policy, loaded.Config.Routing.Aliases);
    }
}
