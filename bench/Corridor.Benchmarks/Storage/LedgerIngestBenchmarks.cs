using BenchmarkDotNet.Attributes;
using Corridor.Core.Metering;
using Corridor.Storage;

namespace Corridor.Benchmarks.Storage;

/// <summary>
/// Ledger ingestion: <see cref="RowsPerInvoke"/> rows appended with <see cref="ICorridorStore.AppendLedgerAsync"/> in batches of
/// <see cref="BatchSize"/>, as the gateway's ledger writer does. PostgreSQL takes binary COPY into the month's partition;
/// SQLite is there for comparison. Rows carry a retained request body and response text, as with <c>retainBodies</c>.
/// One operation is one row: rows/s = 1e9 / Mean (ns).
/// <para>
/// PostgreSQL is the server named by <c>CORRIDOR_BENCH_POSTGRES</c>; <c>bench/ledger.sh</c> starts a throwaway one and runs this.
/// </para>
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class LedgerIngestBenchmarks : IDisposable
{
    public const int RowsPerInvoke = 50_000;

    private static readonly string Body = """{"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful assistant for a freight company."},{"role":"user","content":"Where is container MSCU 123456-7 now, and when does it reach Rotterdam? Answer briefly."}],"max_tokens":256,"temperature":0.2}""";
    private static readonly string Answer = "Container MSCU 123456-7 left Singapore on 28 May on the Maersk Elba and is due in Rotterdam on 24 June; customs pre-clearance is filed.";

    private ICorridorStore _store = null!;
    private string _folder = "";
    private long _next;
    private LedgerEntry[][] _batches = [];

    [Params("postgres", "sqlite")]
    public string Store { get; set; } = "";

    [Params(1_000, 5_000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "corridor-bench-ledger-" + Guid.NewGuid().ToString("N"));
        var options = Store == "postgres"
            ? new StorageOptions(PostgresConnectionString: Environment.GetEnvironmentVariable("CORRIDOR_BENCH_POSTGRES")
                ?? throw new InvalidOperationException("Set CORRIDOR_BENCH_POSTGRES (bench/ledger.sh does), or filter to the sqlite cases."))
            : new StorageOptions(Path.Combine(_folder, "corridor.db"));
        _store = CorridorStores.OpenAsync(options, CancellationToken.None).GetAwaiter().GetResult();
        _batches = new LedgerEntry[RowsPerInvoke / BatchSize][];
    }

    [IterationSetup]
    public void NextRows()
    {
        // Fresh request ids every invocation (a repeated id would take the retry path); built outside the measurement.
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        for (var b = 0; b < _batches.Length; b++)
        {
            var batch = new LedgerEntry[BatchSize];
            for (var i = 0; i < batch.Length; i++)
            {
                var n = _next++;
                batch[i] = new LedgerEntry(
                    $"req_{n:x16}", start.AddMilliseconds(n), $"tenant-{n % 500:D3}", $"key_{n % 5000:x16}", "gpt-4.1", "/v1/chat/completions",
                    "gpt-4.1-sg", "sg", 200, RequestOutcome.Success, 182 + (n % 50), 240, 0.00228400m + (n % 7) * 0.000001m, false, 812, true,
                    null, "203.0.113.7", "openai-python/1.40.0", Utf8Text.From(Body), Answer, "stop")
                {
                    Vendor = "openai",
                    DecisionId = $"dec_{n:x16}",
                };
            }

            _batches[b] = batch;
        }
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public async Task AppendLedger()
    {
        foreach (var batch in _batches)
        {
            await _store.AppendLedgerAsync(batch, CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}
