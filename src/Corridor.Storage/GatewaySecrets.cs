using System.Security.Cryptography;

namespace Corridor.Storage;

/// <summary>
/// The secrets the gateways make for themselves and keep in the store (<see cref="ICorridorStore.GetSecretAsync"/>), so
/// that every gateway of a fleet and every restart has the same ones without the operator configuring them. The store's
/// table of them (<c>gateway_secrets</c>) is read by nothing else: no export, report, evidence bundle or admin API.
/// </summary>
public static class GatewaySecrets
{
    /// <summary>The key that signs and seals the reasoning handed to Anthropic clients, when the operator sets none (docs/translation.md).</summary>
    public const string ReasoningKey = "reasoning-key";

    /// <summary>How many random bytes a secret has.</summary>
    public const int Bytes = 32;

    /// <summary>A new secret, which the store keeps only if it has none of that name yet.</summary>
    internal static byte[] Make() => RandomNumberGenerator.GetBytes(Bytes);
}
