using System.Security.Cryptography;
using System.Text;
using Corridor.Storage;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Corridor's own proof on the reasoning of an OpenAI-kind model (DeepSeek's <c>reasoning_content</c>) that it hands an
/// Anthropic client, so the client can send it back in a tool loop and Corridor can tell it from anything else
/// (docs/translation.md): a <c>thinking</c> block's <c>signature</c> (an HMAC-SHA256 of the text) or a
/// <c>redacted_thinking</c> block's <c>data</c> (the text sealed with AES-GCM), each beginning with <see cref="Prefix"/>,
/// which no signature or data of Anthropic's (base64) contains. Both keys are derived (HKDF-SHA256) from the gateway's
/// reasoning key, the same on every gateway of a fleet and across restarts: the operator's (<c>server.reasoningKeyEnv</c>)
/// when set, else the one the store keeps (<see cref="GatewaySecrets.ReasoningKey"/>); neither the key nor anything derived
/// from it is ever written out.
/// </summary>
internal sealed class ReasoningSeal
{
    /// <summary>What begins every signature and sealed data Corridor makes.</summary>
    public const string Prefix = "corridor.v1.";

    /// <summary>The fewest characters a configured reasoning key may have.</summary>
    public const int MinimumKeyLength = 32;

    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly byte[] _signingKey;
    private readonly byte[] _sealingKey;

    private ReasoningSeal(ReadOnlySpan<byte> secret)
    {
        _signingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, salt: [], info: "corridor thinking signature"u8.ToArray());
        _sealingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, salt: [], info: "corridor redacted thinking"u8.ToArray());
    }

    /// <summary>A seal from the operator's key (at least <see cref="MinimumKeyLength"/> characters).</summary>
    public static ReasoningSeal FromKey(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return new ReasoningSeal(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>
    /// A seal from the key the store keeps (<see cref="GatewaySecrets.ReasoningKey"/>, <see cref="GatewaySecrets.Bytes"/>
    /// random bytes); null when it is shorter, as only someone altering the store would make it.
    /// </summary>
    public static ReasoningSeal? FromStoredKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Length >= GatewaySecrets.Bytes ? new ReasoningSeal(key) : null;
    }

    /// <summary>
    /// The seal of the key in the environment variable <paramref name="keyEnv"/> names; null when it is unset or blank (the
    /// gateway then uses the key the store keeps: <see cref="FromStoredKey"/>), and null with <paramref name="error"/> when the
    /// key is too short to be one.
    /// </summary>
    public static ReasoningSeal? FromEnvironment(string keyEnv, Func<string, string?> environment, out string? error)
    {
        ArgumentNullException.ThrowIfNull(environment);
        error = null;
        var key = environment(keyEnv);
        if (string.IsNullOrWhiteSpace(key))
        {
            return null;
        }
        if (key.Length < MinimumKeyLength)
        {
            error = $"server.reasoningKeyEnv: the key in {keyEnv} has {key.Length} characters; it needs at least {MinimumKeyLength} (for instance: openssl rand -base64 32)";
            return null;
        }
        return FromKey(key);
    }

    /// <summary>Whether <paramref name="value"/> (a signature, or a redacted block's data) says it is Corridor's.</summary>
    public static bool IsCorridors(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The signature of a <c>thinking</c> block of <paramref name="thinking"/>.</summary>
    public string Sign(string thinking) => Prefix + Convert.ToBase64String(Mac(thinking));

    /// <summary>Whether <paramref name="signature"/> is the one Corridor made, with this key, for <paramref name="thinking"/>.</summary>
    public bool Verifies(string thinking, string? signature)
    {
        if (!IsCorridors(signature))
        {
            return false;
        }
        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        return Convert.TryFromBase64String(signature![Prefix.Length..], given, out var written)
            && written == given.Length
            && CryptographicOperations.FixedTimeEquals(given, Mac(thinking));
    }

    /// <summary>The data of a <c>redacted_thinking</c> block carrying <paramref name="reasoning"/>, which only this key opens.</summary>
    public string Seal(string reasoning)
    {
        var plain = Encoding.UTF8.GetBytes(reasoning);
        var sealedBytes = new byte[NonceBytes + plain.Length + TagBytes];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_sealingKey, TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes, plain.Length), sealedBytes.AsSpan(NonceBytes + plain.Length), "redacted_thinking"u8);
        return Prefix + Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The reasoning sealed in <paramref name="data"/>; null when it is not Corridor's or not this key's, or was altered.</summary>
    public string? Open(string? data)
    {
        if (!IsCorridors(data))
        {
            return null;
        }
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(data![Prefix.Length..]);
        }
        catch (FormatException)
        {
            return null;
        }
        if (sealedBytes.Length < NonceBytes + TagBytes)
        {
            return null;
        }
        var plainLength = sealedBytes.Length - NonceBytes - TagBytes;
        var plain = new byte[plainLength];
        using var aes = new AesGcm(_sealingKey, TagBytes);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes, plainLength), sealedBytes.AsSpan(NonceBytes + plainLength), plain, "redacted_thinking"u8);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        return Encoding.UTF8.GetString(plain);
    }

    private byte[] Mac(string thinking) => HMACSHA256.HashData(_signingKey, Encoding.UTF8.GetBytes(thinking));
}
