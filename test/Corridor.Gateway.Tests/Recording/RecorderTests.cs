using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>What a finished request leaves for the writers: its ledger row and its decision's audit record.</summary>
public sealed class RecorderTests : SqliteStoreTestBase
{
    [Fact]
    public async Task ADecisionsAuditRecord_CarriesTheTimeOfTheDecision_NotTheTimeTheRequestEnded()
    {
        var config = TestConfigs.Active(TestConfigs.OneDeployment + """
            policy:
              version: "p-1"
              rules:
                - id: everyone
                  allow_jurisdictions: ["*"]
            """);
        var clock = new FakeClock();
        var decidedAt = clock.GetUtcNow();
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", decidedAt);
        var key = ApiKeys.Create("acme", decidedAt).Key;
        var body = """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray();
        var call = new CorridorRequestFeature(config, "req_1", Dialect.OpenAI, Operation.ChatCompletions, decidedAt, clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
            Caller = new AuthenticatedKey(key, tenant),
            DecisionId = "dec_1",
            DecisionInput = DecisionInput.For(tenant, key.Id, new RequestFeatures("gpt-4.1", Stream: true), decidedAt),
        };
        using var ledger = new LedgerWriter(Store, new LedgerOptions(), TimeProvider.System, NullLogger<LedgerWriter>.Instance);
        using var audit = new AuditWriter(Store, new AuditWriterOptions(), TimeProvider.System, NullLogger<AuditWriter>.Instance);
        var recorder = new Recorder(ledger, audit, new LedgerOptions(), clock);

        // A stream of three minutes: the request is recorded when it ends.
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.True(await recorder.Record(new DefaultHttpContext(), call).WithTimeout());
        await audit.StopAsync(CancellationToken.None).WithTimeout();

        var record = Assert.Single(await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());
        Assert.Equal("dec_1", record.Subject);
        Assert.Equal(decidedAt, record.Time);
    }
}
