using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Shadow;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Benchmarks.Shadow;

/// <summary>
/// What shadow evaluation adds to an answered request's path (<see cref="ShadowMirror.Mirror"/>): nothing configured
/// for its model, a pair whose share is not drawn, and a pair whose mirror is dropped because the queue is full (the
/// draw, the in-flight count, a copy of the body and a failed write: the enqueue path short of the write succeeding).
/// The background workers are not started.
/// </summary>
[MemoryDiagnoser]
public class ShadowMirrorBenchmarks
{
    private ShadowMirror _off = null!;
    private ShadowMirror _notDrawn = null!;
    private ShadowMirror _full = null!;
    private CorridorRequestFeature _offCall = null!;
    private CorridorRequestFeature _notDrawnCall = null!;
    private CorridorRequestFeature _fullCall = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_off, _offCall) = Create("shadow: { models: { mini: { candidate: gpt-4.1, share: 1 } } }");
        (_notDrawn, _notDrawnCall) = Create("shadow: { models: { gpt-4.1: { candidate: mini, share: 0 } } }");
        (_full, _fullCall) = Create("shadow: { queue: 1, models: { gpt-4.1: { candidate: mini, share: 1 } } }");
        _full.Mirror(_fullCall);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _off.Dispose();
        _notDrawn.Dispose();
        _full.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long ModelNotShadowed()
    {
        _off.Mirror(_offCall);
        return _off.Status.Enqueued;
    }

    [Benchmark]
    public long ShareNotDrawn()
    {
        _notDrawn.Mirror(_notDrawnCall);
        return _notDrawn.Status.Enqueued;
    }

    [Benchmark]
    public long QueueFull_Dropped()
    {
        _full.Mirror(_fullCall);
        return _full.Status.DroppedQueueFull;
    }

    private static (ShadowMirror, CorridorRequestFeature) Create(string shadow)
    {
        var loaded = ConfigLoader.Parse($$"""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000 }
              - { id: mini, vendor: openai, capabilities: [chat], contextWindow: 1000 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
              - { id: mini-sg, model: mini, region: sg, price: { input: 1, output: 1 } }
            {{shadow}}
            """, "/srv", environment: null);
        var config = ActiveConfig.TryCreate(loaded.Config!, _ => null, DateTimeOffset.UtcNow, out _)!;
        var state = new GatewayState(config);
        var mirror = new ShadowMirror(state, new RouteTable(state, TimeProvider.System), null!, null!, null!, null!, null!, null!,
            new ServerOptions(), new LedgerOptions(), TimeProvider.System, NullLogger<ShadowMirror>.Instance);
        var body = Encoding.UTF8.GetBytes(Payloads.ChatRequest);
        var buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        body.CopyTo(buffer, 0);
        config.Catalog.TryGetModel("gpt-4.1", out var model);
        var call = new CorridorRequestFeature(config, "req_1", Dialect.OpenAI, Operation.ChatCompletions, DateTimeOffset.UtcNow, TimeProvider.System.GetTimestamp(), 0)
        {
            Request = new ClientRequest(buffer, body.Length) { Model = "gpt-4.1" },
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", DateTimeOffset.UtcNow).Key, new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UtcNow)),
            Deployment = model.Deployments[0],
            Served = true,
        };
        return (mirror, call);
    }
}
