using System.Text.Json;
using System.Threading.Channels;
using Corridor.Core.Admission;
using Corridor.Core.Metering;
using Corridor.Gateway.Admission;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>
/// A fleet replica's request that finds no slice of its tenant's shared allowance waits for the slice
/// (docs/limits-and-budgets.md, "When a replica holds too little"): the real <see cref="Admitter"/>,
/// <see cref="FleetAdmissionCounters"/> and <see cref="FleetLeaseWorker"/>, with a lease book that answers each lease
/// after a delay on a fake clock (a slow database).
/// </summary>
public sealed class AllowanceWaitTests : IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);
    private static readonly Limits Tenant = new() { RequestsPerMinute = 100 };

    private readonly FakeClock _clock = new();
    private readonly FleetAdmissionCounters _counters;
    private readonly Admitter _admitter;
    private SlowLeaseBook? _book;
    private FleetLeaseWorker? _worker;

    public AllowanceWaitTests()
    {
        _counters = new FleetAdmissionCounters(_clock, new LeaseSizing());
        _admitter = new Admitter(_counters, _clock, NullLogger<Admitter>.Instance);
    }

    [Fact]
    public async Task ASliceArrivingAfter100ms_AdmitsTheWaitingRequest()
    {
        var book = await StartAsync(leaseTakes: TimeSpan.FromMilliseconds(100));
        var call = Call(Dialect.OpenAI, Tenant);

        var admission = Admit(new DefaultHttpContext(), call);
        await book.AskedAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(95));
        Assert.False(admission.IsCompleted, "answered before the slice arrived");
        _clock.Advance(TimeSpan.FromMilliseconds(100) - TimeSpan.FromMilliseconds(95) + Poll);

        Assert.True(admission.IsCompleted, "still waiting after the slice arrived");
        Assert.Null(await admission);
        Assert.True(call.Admission.IsHeld);
        Assert.Equal(9m, _counters.Holdings.Held(Requests)); // a slice of 10, one spent
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NoSliceWithin2s_RefusesWith429AndRetryAfterInTheClientsDialect(bool anthropic)
    {
        var dialect = anthropic ? Dialect.Anthropic : Dialect.OpenAI;
        var book = await StartAsync(leaseTakes: TimeSpan.FromSeconds(30));
        var call = Call(dialect, Tenant);
        var context = new DefaultHttpContext();

        var admission = Admit(context, call);
        await book.AskedAsync();
        _clock.Advance(Admitter.AllowanceWait - Poll);
        Assert.False(admission.IsCompleted, "gave up before 2 s");
        _clock.Advance(Poll);

        Assert.True(admission.IsCompleted, "still waiting after 2 s");
        var error = await admission;
        Assert.NotNull(error);
        Assert.False(call.Admission.IsHeld);
        Assert.Equal(RequestOutcome.RateLimited, call.Outcome);
        context.Response.Body = new MemoryStream();
        await RequestPipeline.WriteErrorAsync(context, dialect, error, "req_1").WithTimeout();
        Assert.Equal(StatusCodes.Status429TooManyRequests, context.Response.StatusCode);
        Assert.Equal("1", context.Response.Headers.RetryAfter.ToString());
        using var body = JsonDocument.Parse(((MemoryStream)context.Response.Body).ToArray());
        var detail = body.RootElement.GetProperty("error");
        Assert.Equal("rate_limit_error", detail.GetProperty("type").GetString());
        Assert.Contains("shared by several gateways", detail.GetProperty("message").GetString(), StringComparison.Ordinal);
        if (anthropic)
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal("rate_limit_exceeded", detail.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task AClientLeavingWhileItWaits_EndsTheWait_WithNothingReservedAndNothingLeftRunning()
    {
        var book = await StartAsync(leaseTakes: TimeSpan.FromMilliseconds(100));
        var call = Call(Dialect.OpenAI, Tenant with { DailyHardBudget = 100m });
        using var aborted = new CancellationTokenSource();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token };

        var admission = Admit(context, call);
        await book.AskedAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        await aborted.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => admission.WaitAsync(TestTimeouts.Default));
        Assert.False(call.Admission.IsHeld);
        // Both slices arrive later (the book answers one lease after the other); no poll is left to spend from them.
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        await book.AskedAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, _clock.ActiveTimers);
        var budget = Requests with { Kind = LeaseKind.DayBudget };
        Assert.Equal(book.Taken(Requests), _counters.Holdings.Held(Requests));
        Assert.Equal(book.Taken(budget), _counters.Holdings.Held(budget));
        Assert.True(_counters.Holdings.Held(budget) > 0);
        Assert.All(_counters.Snapshot(), usage => Assert.Equal((0m, 0), (usage.Reserved, usage.Streams)));

        // A replica that stops gives back all it holds: the fleet's book has nothing of this request.
        await StopWorkerAsync();
        Assert.Equal((0m, 0m), (book.Taken(Requests), book.Taken(budget)));
    }

    /// <summary>
    /// A replica stopped while the database does not answer gives up its give-backs at the store's deadline
    /// (<see cref="StoreDeadline.Timeout"/>) rather than spending the shutdown on them; what it held stays taken in the
    /// book, on the side of the limit.
    /// </summary>
    [Fact]
    public async Task AReplicaStoppingWhileTheBookDoesNotAnswer_GivesUpItsGiveBacksAtTheStoreDeadline()
    {
        var book = await StartAsync(leaseTakes: TimeSpan.FromMilliseconds(100));
        var admission = Admit(new DefaultHttpContext(), Call(Dialect.OpenAI, Tenant));
        await book.AskedAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(100) + Poll);
        Assert.Null(await admission.WithTimeout());

        book.Answering = false;
        var worker = _worker!;
        _worker = null;
        var stopping = WithoutContext(async () =>
        {
            await worker.StopAsync(CancellationToken.None);
            return true;
        });
        await _clock.AdvanceUntilDoneAsync(stopping);
        Assert.True(await stopping);
        worker.Dispose();
        Assert.Equal(10m, book.Taken(Requests));
    }

    /// <summary>
    /// A replica whose requests in flight spent the whole shutdown deadline (the host's token is cancelled when the lease
    /// worker stops) still gives back what it holds unused to a book that answers, and gives up on one that does not at the
    /// store's deadline; either way the stop does not fail. Before, the give-backs were cancelled with the host's token:
    /// the cancellation escaped the stop, and `corridor serve` exited 1.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AReplicaStoppingAfterTheShutdownDeadline_GivesBackWhatItHolds_WithoutFailingTheStop(bool bookAnswers)
    {
        var book = await StartAsync(leaseTakes: TimeSpan.FromMilliseconds(100));
        var admission = Admit(new DefaultHttpContext(), Call(Dialect.OpenAI, Tenant));
        await book.AskedAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(100) + Poll);
        Assert.Null(await admission.WithTimeout());

        book.Answering = bookAnswers;
        var worker = _worker!;
        _worker = null;
        var stopping = WithoutContext(async () =>
        {
            await worker.StopAsync(new CancellationToken(canceled: true));
            return true;
        });
        await _clock.AdvanceUntilDoneAsync(stopping);
        Assert.True(await stopping);
        worker.Dispose();
        // The request still in flight keeps its one reservation taken; the nine unused are back when the book answered.
        Assert.Equal(bookAnswers ? 1m : 10m, book.Taken(Requests));
    }

    public async ValueTask DisposeAsync() => await StopWorkerAsync();

    private static LeaseSubject Requests => new(LimitScope.Tenant, "acme", LeaseKind.Requests);

    private async Task<SlowLeaseBook> StartAsync(TimeSpan leaseTakes)
    {
        _book = new SlowLeaseBook(_clock, leaseTakes);
        _worker = new FleetLeaseWorker(_counters, _book, _clock, NullLogger<FleetLeaseWorker>.Instance);
        var worker = _worker;
        await WithoutContext(async () =>
        {
            await worker.StartAsync(CancellationToken.None);
            return true;
        }).WithTimeout();
        return _book;
    }

    private async Task StopWorkerAsync()
    {
        if (_worker is { } worker)
        {
            _worker = null;
            await worker.StopAsync(CancellationToken.None).WithTimeout();
            worker.Dispose();
        }
    }

    private Task<GatewayError?> Admit(HttpContext context, CorridorRequestFeature call) => WithoutContext(() => _admitter.AdmitAsync(context, call).AsTask());

    /// <summary>
    /// Starts <paramref name="start"/> without the test framework's synchronization context, so what it awaits on the fake
    /// clock (the wait's polls, the book's answers) runs on inside <see cref="FakeClock.Advance"/> as the clock fires it.
    /// </summary>
    private static Task<T> WithoutContext<T>(Func<Task<T>> start)
    {
        var framework = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return start();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(framework);
        }
    }

    private CorridorRequestFeature Call(Dialect dialect, Limits tenantLimits) => AdmissionCalls.Chat(_clock, dialect, tenantLimits);

    /// <summary>The lease book of a slow database: each lease is answered <paramref name="leaseTakes"/> after it was asked, on the fake clock.</summary>
    private sealed class SlowLeaseBook(FakeClock clock, TimeSpan leaseTakes) : ILeaseBook
    {
        private readonly MemoryLeaseBook _book = new(clock);

        private readonly Channel<LeaseKey> _asked = Channel.CreateUnbounded<LeaseKey>();

        /// <summary>Completes when the next lease has been asked for and its answer is under way on the fake clock.</summary>
        public async Task AskedAsync() => await _asked.Reader.ReadAsync().AsTask().WithTimeout();

        public decimal Taken(LeaseSubject subject) => _book.Taken(new LeaseKey(subject, LeasePeriods.Of(subject.Kind, clock.GetUtcNow())));

        public async ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, string replica, CancellationToken cancellationToken)
        {
            var answered = Task.Delay(leaseTakes, clock, cancellationToken);
            _asked.Writer.TryWrite(key);
            await answered;
            return _book.Lease(key, limit, want, replica);
        }

        /// <summary>False while the database does not answer: a give-back then ends only when its token is cancelled.</summary>
        public bool Answering { get; set; } = true;

        public ValueTask ReturnAsync(LeaseReturn back, string replica, CancellationToken cancellationToken) =>
            Answering ? _book.ReturnAsync(back, replica, cancellationToken) : new ValueTask(Task.Delay(Timeout.Infinite, cancellationToken));

        public ValueTask SeedAsync(LeaseKey key, decimal taken, CancellationToken cancellationToken) => _book.SeedAsync(key, taken, cancellationToken);

        public ValueTask PruneAsync(LeaseKind kind, long before, CancellationToken cancellationToken) => _book.PruneAsync(kind, before, cancellationToken);

        public ValueTask RegisterAsync(string replica, CancellationToken cancellationToken) => _book.RegisterAsync(replica, cancellationToken);

        public ValueTask<bool> HeartbeatAsync(string replica, IReadOnlyList<LeaseHeld> held, CancellationToken cancellationToken) =>
            _book.HeartbeatAsync(replica, held, cancellationToken);

        public ValueTask ReclaimAsync(TimeSpan expiry, CancellationToken cancellationToken) => _book.ReclaimAsync(expiry, cancellationToken);

        public ValueTask LeaveAsync(string replica, CancellationToken cancellationToken) => _book.LeaveAsync(replica, cancellationToken);
    }
}
