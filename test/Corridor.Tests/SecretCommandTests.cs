using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Tests;

/// <summary>
/// <c>corridor secrets rotate-reasoning-key</c> on a real SQLite file (docs/operations.md, "Rotating the reasoning key"):
/// the store's side, the audit record, the refusals, and that no key shows in what it prints.
/// </summary>
public sealed class SecretCommandTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task RotateReasoningKey_KeepsTheOldKeyAsThePrevious_IsAudited_AndPrintsNoKey()
    {
        var none = await _cli.RunAsync("secrets", "rotate-reasoning-key");
        GatewaySecret made;
        await using (var store = await OpenAsync())
        {
            // What the first gateway to start does.
            made = await store.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout();
        }

        var rotated = await _cli.RunAsync("secrets", "rotate-reasoning-key");
        var again = await _cli.RunAsync("secrets", "rotate-reasoning-key");
        var audit = await _cli.RunAsync("audit", "list", "--action", AuditActions.ReasoningKeyRotate, "--json");

        Assert.Equal(1, none.ExitCode);
        Assert.Contains("the store keeps no reasoning key", none.Error, StringComparison.Ordinal);
        Assert.Equal((0, 0, 0), (rotated.ExitCode, again.ExitCode, audit.ExitCode));
        Assert.Contains("Rotated the reasoning key", rotated.Out, StringComparison.Ordinal);
        Assert.Contains("sign and seal with it from", rotated.Out, StringComparison.Ordinal);
        GatewaySecret now;
        await using (var store = await OpenAsync())
        {
            now = await store.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout();
        }
        // Two rotations: the first key is gone, the second is the previous.
        Assert.NotNull(now.Previous);
        Assert.NotEqual(made.Value, now.Previous);
        Assert.NotEqual(made.Value, now.Value);
        Assert.NotNull(now.RotatedAt);
        using var records = JsonDocument.Parse(audit.Out);
        Assert.Equal(2, records.RootElement.GetArrayLength());
        foreach (var record in records.RootElement.EnumerateArray())
        {
            Assert.StartsWith("cli:", record.GetProperty("actor").GetString(), StringComparison.Ordinal);
            Assert.Equal(GatewaySecrets.ReasoningKey, record.GetProperty("subject").GetString());
            Assert.True(record.GetProperty("details").TryGetProperty("seals_from", out _));
        }
        var printed = string.Concat(none.Out, none.Error, rotated.Out, rotated.Error, again.Out, again.Error, audit.Out, audit.Error);
        foreach (var key in new[] { made.Value, now.Previous!, now.Value })
        {
            Assert.DoesNotContain(Convert.ToHexString(key), printed, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToBase64String(key), printed, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RotateReasoningKey_IsRefused_WhenTheKeyComesFromTheEnvironment_NamingTheVariablesNotTheKey()
    {
        using var key = new TokenVariable();
        var config = _cli.File("corridor.yaml");
        await File.WriteAllTextAsync(config, $"""
            server:
              reasoningKeyEnv: {key.Name}
              reasoningPreviousKeyEnv: CORRIDOR_TEST_PREVIOUS_KEY
            storage:
              sqlite: {_cli.DbPath}
            """).WithTimeout();
        await using (var store = await OpenAsync())
        {
            await store.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout();
        }

        var refused = await CliRunner.RunRawAsync("secrets", "rotate-reasoning-key", "--config", config);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"{key.Name} is set", refused.Error, StringComparison.Ordinal);
        Assert.Contains("set CORRIDOR_TEST_PREVIOUS_KEY to the old key", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Token, refused.Out + refused.Error, StringComparison.Ordinal);
        await using var after = await OpenAsync();
        Assert.Null((await after.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout()).Previous);
        Assert.Empty(await after.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());
    }

    private Task<ICorridorStore> OpenAsync() => CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
}
