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

    /// <summary>
    /// How long after a rotation (<see cref="ICorridorStore.RotateSecretAsync"/>) gateways still sign and seal with the key it
    /// replaced, while already accepting the new one. Gateways take a rotation up within a poll (half a second) or at once on
    /// a shared store's notification; this is far more, so that a replica whose store was slow for a few seconds, or whose
    /// clock is a little behind, has the new key before any block made with it reaches that replica.
    /// </summary>
    public static readonly TimeSpan SealingDelay = TimeSpan.FromMinutes(1);

    /// <summary>A new secret, which the store keeps only if it has none of that name yet.</summary>
    internal static byte[] Make() => RandomNumberGenerator.GetBytes(Bytes);
}

/// <summary>
/// A secret the store keeps (<see cref="GatewaySecrets"/>): its <see cref="Value"/>, and since it was last rotated
/// (<see cref="ICorridorStore.RotateSecretAsync"/>, at <see cref="RotatedAt"/>) the value it replaced
/// (<see cref="Previous"/>); both null until a first rotation. Its text names neither value.
/// </summary>
public sealed class GatewaySecret(byte[] value, byte[]? previous = null, DateTimeOffset? rotatedAt = null)
{
    public byte[] Value { get; } = value ?? throw new ArgumentNullException(nameof(value));

    public byte[]? Previous { get; } = previous;

    public DateTimeOffset? RotatedAt { get; } = rotatedAt;

    public override string ToString() => RotatedAt is { } at ? $"a gateway secret rotated at {at:O}" : "a gateway secret never rotated";
}
