using BenchmarkDotNet.Attributes;
using Corridor.Core.Metering;
using Corridor.Storage;

namespace Corridor.Benchmarks.Storage;

/// <summary>
/// Appending one batch of ledger rows to the embedded SQLite store (<see cref="ICorridorStore.AppendLedgerAsync"/>), as the
/// gateway's ledger writer does, every row with its retained request body and answer text. Each invocation appends
/// <see cref="RowsPerInvoke"/> rows in batches of <see cref="BatchSize"/> (10 is about what the gateway's group commit
/// gathers at saturation, 1 what it writes at light load, 500 about what a journal pass inserts at saturation); reported
/// per row. <see cref="Into"/> says where the batch goes: <c>journal</c> is the store's durable point (the ledger journal,
/// docs/durability.md: one write a batch, the insert into SQLite left to the passes); <c>sqlite</c> is one transaction a
/// batch straight into the database file, commits included, as a journal pass (or a store without the journal) does.
/// </summary>
[MemoryDiagnoser]
public class LedgerAppendBenchmarks : IDisposable
{
    private ICorridorStore _store = null!;
    private string _directory = "";
    private LedgerEntry _template = null!;
    private const int RowsPerInvoke = 500;
    private LedgerEntry[][] _batches = [];
    private long _next;

    private FileStream? _journalHeld;

    [Params(1, 10, 500)]
    public int BatchSize { get; set; }

    [Params("journal", "sqlite")]
    public string Into { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "corridor-bench-" + Guid.NewGuid().ToString("N"));
        if (Into == "sqlite")
        {
            // Holding the journal's lock, as another process would, makes the store write every batch into SQLite itself.
            Directory.CreateDirectory(Path.Combine(_directory, "corridor.db-ledger"));
            _journalHeld = new FileStream(Path.Combine(_directory, "corridor.db-ledger", "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        _store = CorridorStores.OpenAsync(new StorageOptions(Path.Combine(_directory, "corridor.db")), CancellationToken.None).GetAwaiter().GetResult();
        _template = new LedgerEntry(
            RequestId: "",
            Time: DateTimeOffset.UtcNow,
            TenantId: "tenant-042",
            KeyId: "key_0000000000000042",
            Model: "gpt-4.1",
            Endpoint: "/v1/chat/completions",
            DeploymentId: "gpt-4.1-sg",
            Region: "sg",
            Status: 200,
            Outcome: RequestOutcome.Success,
            InputTokens: 212,
            OutputTokens: 54,
            Cost: 0.000856m,
            Estimated: false,
            LatencyMs: 3,
            Billable: true,
            ClientIp: "10.20.30.40",
            UserAgent: "OpenAI/.NET 2.15.0",
            RequestBody: Utf8Text.From(Payloads.ChatRequest),
            ResponseText: "I have asked the carrier for an updated window for HL-2231-8890; they will confirm by 6 pm today. HL-2231-8891 is on the same vehicle, so both should arrive together.",
            FinishReason: "stop")
        {
            Vendor = "openai",
        };
        _batches = new LedgerEntry[RowsPerInvoke / BatchSize][];
        for (var b = 0; b < _batches.Length; b++)
        {
            _batches[b] = new LedgerEntry[BatchSize];
        }
    }

    [IterationSetup]
    public void NewRequestIds()
    {
        // Fresh ids each time: a repeated id would be skipped as a retried batch and measure nothing.
        foreach (var batch in _batches)
        {
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] = _template with { RequestId = $"req_{_next++:x32}" };
            }
        }
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public async Task AppendBatches()
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
        _journalHeld?.Dispose();
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }
}
