using Corridor.Core.Metering;

namespace Corridor.Testing.Storage;

/// <summary>Ledger rows for tests: a successful, billable chat request unless told otherwise.</summary>
public static class LedgerSamples
{
    public static readonly DateTimeOffset Start = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    public static LedgerEntry Entry(
        string requestId,
        DateTimeOffset? time = null,
        string? tenantId = "acme",
        string? keyId = "key_0000000000000001",
        string model = "gpt-4.1",
        long inputTokens = 100,
        long outputTokens = 50,
        decimal cost = 0.001m,
        bool billable = true) => new(
            RequestId: requestId,
            Time: time ?? Start,
            TenantId: tenantId,
            KeyId: keyId,
            Model: model,
            Endpoint: "/v1/chat/completions",
            DeploymentId: "gpt-4.1-sg",
            Region: "sg",
            Status: billable ? 200 : 401,
            Outcome: billable ? RequestOutcome.Success : RequestOutcome.Unauthorized,
            InputTokens: inputTokens,
            OutputTokens: outputTokens,
            Cost: cost,
            Estimated: false,
            LatencyMs: 812,
            Billable: billable);
}
