using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Benchmarks.Admission;

/// <summary>
/// What admission (step 5) adds to one request, admitted and then settled as the pipeline's end does: the reservation's
/// arithmetic (prompt estimate over the ~1 KB body, worst-case cost at the dearest deployment), the locks and counters of
/// tenant and key, the rate-limit headers, and settlement of the actual tokens and cost. With limits and budgets on
/// both tenant and key (set high, so every request is admitted and the same path is measured each time), and without
/// any (the counters still track spend). <c>CountersOnly</c> is the Corridor.Core part alone.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class AdmissionBenchmarks
{
    private static readonly Limits Generous = new()
    {
        RequestsPerMinute = 1_000_000_000,
        TokensPerMinute = 9_000_000_000_000,
        ConcurrentStreams = 1_000_000,
        DailySoftBudget = 1_000_000_000m,
        DailyHardBudget = 2_000_000_000m,
        MonthlySoftBudget = 10_000_000_000m,
        MonthlyHardBudget = 20_000_000_000m,
    };

    private Admitter _admitter = null!;
    private LocalAdmissionCounters _counters = null!;
    private CorridorRequestFeature _limited = null!;
    private CorridorRequestFeature _unlimited = null!;
    private DefaultHttpContext _context = null!;
    private AdmissionRequest _coreRequest;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.Parse("""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
            deployments:
              - { id: gpt-4.1-sg, model: gpt-4.1, region: sg, price: { input: 2.00, output: 8.00 } }
              - { id: gpt-4.1-jp, model: gpt-4.1, region: jp-east, price: { input: 2.20, output: 8.80 } }
            """, Path.GetTempPath());
        var active = ActiveConfig.TryCreate(loaded.Config!, _ => null, DateTimeOffset.UtcNow, out var errors)
            ?? throw new InvalidOperationException(string.Join("; ", errors));
        _counters = new LocalAdmissionCounters(TimeProvider.System);
        _admitter = new Admitter(_counters, TimeProvider.System, NullLogger<Admitter>.Instance);
        _context = new DefaultHttpContext();
        var tenant = new Tenant("acme", "Acme Pte. Ltd.", "SG", DateTimeOffset.UtcNow);
        var key = ApiKeys.Create("acme", DateTimeOffset.UtcNow).Key;
        _limited = Call(active, new AuthenticatedKey(key, tenant) { TenantLimits = Generous, KeyLimits = Generous });
        _unlimited = Call(active, new AuthenticatedKey(key with { Id = "key_unlimited" }, tenant with { Id = "unlimited" }));
        _coreRequest = new AdmissionRequest("core", Generous, "key_core", Generous, 1_000, 0.004m, Stream: false);
        if (!AdmitAndSettle() || !AdmitAndSettleWithoutLimits() || !CountersOnly())
        {
            throw new InvalidOperationException("A benchmark request was not admitted.");
        }
    }

    private static CorridorRequestFeature Call(ActiveConfig active, AuthenticatedKey caller)
    {
        var body = Encoding.UTF8.GetBytes(Payloads.ChatRequest);
        var request = new ClientRequest(body, body.Length);
        if (RequestParser.Parse(request, Operation.ChatCompletions) is { } error)
        {
            throw new InvalidOperationException(error.Message);
        }
        var model = active.Catalog.Models[0];
        var call = new CorridorRequestFeature(active, "req_bench", Dialect.OpenAI, Operation.ChatCompletions, DateTimeOffset.UtcNow, 0, 0)
        {
            Request = request,
            Caller = caller,
            Model = model,
            AllowedDeployments = model.Deployments,
            Deployment = model.Deployments[0],
            Served = true,
            Cost = 0.000856m,
        };
        call.Usage.TryScan(Encoding.UTF8.GetBytes(Payloads.Completion));
        return call;
    }

    /// <summary>Limits and budgets on tenant and key: admitted, headers written, then settled.</summary>
    [Benchmark(Baseline = true)]
    public bool AdmitAndSettle()
    {
        var admitted = Admitted(_admitter.AdmitAsync(_context, _limited));
        _admitter.Settle(_limited);
        return admitted;
    }

    /// <summary>No limits or budgets: only spend is tracked.</summary>
    [Benchmark]
    public bool AdmitAndSettleWithoutLimits()
    {
        var admitted = Admitted(_admitter.AdmitAsync(_context, _unlimited));
        _admitter.Settle(_unlimited);
        return admitted;
    }

    /// <summary>Admission on one machine always completes synchronously; anything else would be a bug worth seeing here.</summary>
    private static bool Admitted(ValueTask<GatewayError?> admission) =>
        admission.IsCompletedSuccessfully ? admission.Result is null : throw new InvalidOperationException("admission did not complete synchronously");

    /// <summary>The counters alone (Corridor.Core): check and take under both locks, then settle.</summary>
    [Benchmark]
    public bool CountersOnly()
    {
        var admitted = _counters.TryAdmit(in _coreRequest, out var ticket).Admitted;
        _counters.Settle(ref ticket, 900, 0.003m);
        return admitted;
    }
}
