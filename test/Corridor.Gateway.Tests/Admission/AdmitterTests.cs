using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Batches;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>The real <see cref="Admitter"/> on local counters and a fake clock: what a request's headers say.</summary>
public sealed class AdmitterTests
{
    private readonly FakeClock _clock = new();
    private readonly Admitter _admitter;

    public AdmitterTests() => _admitter = new Admitter(new LocalAdmissionCounters(_clock), _clock, NullLogger<Admitter>.Instance);

    [Fact]
    public async Task AnAnthropicReset_CountsFromAdmission_NotFromWhenTheRequestArrived()
    {
        // The request arrived at 09:00:00 and took 10 s to upload its body; admission, at 09:00:10, leaves the window
        // whole again one second later.
        var call = Call(Dialect.Anthropic, new Limits { RequestsPerMinute = 60 });
        _clock.Advance(TimeSpan.FromSeconds(10));
        var context = new DefaultHttpContext();

        Assert.Null(await _admitter.AdmitAsync(context, call).AsTask().WithTimeout());

        Assert.Equal("59", context.Response.Headers["anthropic-ratelimit-requests-remaining"].ToString());
        Assert.Equal("2026-12-03T09:00:11Z", context.Response.Headers["anthropic-ratelimit-requests-reset"].ToString());
    }

    [Fact]
    public async Task ABatchsRequest_IsRefusedAtTheBatchShare_WithTheRetryAfterTheRunnerWaits_WhileALiveOneIsAdmitted()
    {
        var admitter = new Admitter(new LocalAdmissionCounters(_clock), _clock, NullLogger<Admitter>.Instance, new BatchOptions(LimitShare: 0.5));
        var limits = new Limits { RequestsPerMinute = 4 };
        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), Batch(limits)).AsTask().WithTimeout());
        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), Batch(limits)).AsTask().WithTimeout());

        var refused = await admitter.AdmitAsync(new DefaultHttpContext(), Batch(limits)).AsTask().WithTimeout();

        Assert.NotNull(refused);
        Assert.Equal(ErrorKind.RateLimited, refused.Kind);
        Assert.Equal("15", refused.RetryAfter);
        Assert.Contains("limit 4 (a batch may use 0.5 of it), remaining 2", refused.Message, StringComparison.Ordinal);
        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), Call(Dialect.OpenAI, limits)).AsTask().WithTimeout());
        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), Call(Dialect.OpenAI, limits)).AsTask().WithTimeout());

        CorridorRequestFeature Batch(Limits tenantLimits)
        {
            var call = Call(Dialect.OpenAI, tenantLimits);
            call.InProcess = new InProcessCaller(call.Caller!.Key, call.RequestId, BatchId: "batch_1");
            return call;
        }
    }

    private CorridorRequestFeature Call(Dialect dialect, Limits tenantLimits) => AdmissionCalls.Chat(_clock, dialect, tenantLimits);
}
