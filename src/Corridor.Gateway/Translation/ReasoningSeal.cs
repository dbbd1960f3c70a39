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
/// <para>
/// Rotation (docs/operations.md): only the current key signs and seals; the previous one (the operator's
/// <c>server.reasoningPreviousKeyEnv</c>, or the one the store's last rotation replaced) still verifies and opens, so the
/// loops in flight keep their reasoning. A running gateway takes up the store's rotation (<see cref="TakeUp"/>) and goes on
/// sealing with the replaced key for <see cref="GatewaySecrets.SealingDelay"/> after it, long enough for every gateway of a fleet to take
/// it up: none seals with a key another does not accept yet.
/// </para>
/// </summary>
internal sealed class ReasoningSeal
{
    /// <summary>What begins every signature and sealed data Corridor makes.</summary>
    public const string Prefix = "corridor.v1.";

    /// <summary>The fewest characters a configured reasoning key may have.</summary>
    public const int MinimumKeyLength = 32;

    private readonly TimeProvider _time;
    private volatile Keys _keys;

    private ReasoningSeal(Keys keys, TimeProvider time, bool fromStore, long? storeRevision = null)
    {
        _keys = keys;
        _time = time;
        FromStore = fromStore;
        StoreRevision = storeRevision;
    }

    /// <summary>Whether the keys are the store's, which a running gateway takes up again when they rotate (<see cref="TakeUp"/>).</summary>
    public bool FromStore { get; }

    /// <summary>
    /// The store's revision (<see cref="ICorridorStore.GetRevisionAsync"/>) read just before the keys were: a rotation
    /// after that read moves it. Null when unknown, or the keys are not the store's.
    /// </summary>
    public long? StoreRevision { get; private set; }

    /// <summary>A seal from the operator's key (at least <see cref="MinimumKeyLength"/> characters), with no previous one.</summary>
    public static ReasoningSeal FromKey(string key) => FromKeys(key, previousKey: null);

    /// <summary>A seal that signs and seals with <paramref name="key"/> and also accepts what <paramref name="previousKey"/> made.</summary>
    public static ReasoningSeal FromKeys(string key, string? previousKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        var previous = string.IsNullOrWhiteSpace(previousKey) ? null : new Key(Encoding.UTF8.GetBytes(previousKey));
        return new ReasoningSeal(new Keys(new Key(Encoding.UTF8.GetBytes(key)), previous, DateTimeOffset.MinValue), TimeProvider.System, fromStore: false);
    }

    /// <summary>
    /// A seal from the key the store keeps (<see cref="GatewaySecrets.ReasoningKey"/>, <see cref="GatewaySecrets.Bytes"/>
    /// random bytes) and the one its last rotation replaced; null when either is shorter, as only someone altering the store
    /// would make it. <paramref name="time"/> tells when the rotated key begins to seal (<see cref="GatewaySecrets.SealingDelay"/>).
    /// </summary>
    public static ReasoningSeal? FromStoredKey(GatewaySecret secret, TimeProvider time, long? storeRevision = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        return StoredKeys(secret) is { } keys ? new ReasoningSeal(keys, time, fromStore: true, storeRevision) : null;
    }

    /// <summary>
    /// The seal of the key in the environment variable <paramref name="keyEnv"/> names, accepting also what the key in
    /// <paramref name="previousKeyEnv"/> (when set) made; null when the first is unset or blank (the gateway then uses the keys
    /// the store keeps: <see cref="FromStoredKey"/>), and null with <paramref name="error"/> when a key is too short to be
    /// one, or a previous key is set without a key.
    /// </summary>
    public static ReasoningSeal? FromEnvironment(string keyEnv, string previousKeyEnv, Func<string, string?> environment, out string? error)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var key = environment(keyEnv);
        var previous = environment(previousKeyEnv);
        error = TooShort("server.reasoningKeyEnv", keyEnv, key) ?? TooShort("server.reasoningPreviousKeyEnv", previousKeyEnv, previous);
        if (error is null && string.IsNullOrWhiteSpace(key) && !string.IsNullOrWhiteSpace(previous))
        {
            error = $"server.reasoningPreviousKeyEnv: {previousKeyEnv} is set but {keyEnv} is not; a previous key is only accepted beside the key that replaced it "
                + "(to rotate, set the previous variable to the old key and the key variable to the new one; docs/operations.md)";
        }
        return error is null && !string.IsNullOrWhiteSpace(key) ? FromKeys(key, previous) : null;
    }

    /// <summary>The error of a key too short to be one (naming the variable and the key's length, never the key); null when it is unset or long enough.</summary>
    private static string? TooShort(string setting, string variable, string? key) =>
        !string.IsNullOrWhiteSpace(key) && key.Length < MinimumKeyLength
            ? $"{setting}: the key in {variable} has {key.Length} characters; it needs at least {MinimumKeyLength} (for instance: openssl rand -base64 32)"
            : null;

    /// <summary>
    /// Takes up the store's keys as they are now (after a rotation, <see cref="ICorridorStore.RotateSecretAsync"/>), read
    /// after the store's revision was <paramref name="storeRevision"/>; false, keeping the keys it had, when they are not
    /// keys (<see cref="FromStoredKey"/>).
    /// </summary>
    public bool TakeUp(GatewaySecret secret, long storeRevision)
    {
        StoreRevision = storeRevision;
        if (StoredKeys(secret) is not { } keys)
        {
            return false;
        }
        _keys = keys;
        return true;
    }

    private static Keys? StoredKeys(GatewaySecret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Value.Length < GatewaySecrets.Bytes || secret.Previous is { Length: < GatewaySecrets.Bytes })
        {
            return null;
        }
        var previous = secret.Previous is { } bytes ? new Key(bytes) : null;
        var sealsFrom = previous is not null && secret.RotatedAt is { } at ? at + GatewaySecrets.SealingDelay : DateTimeOffset.MinValue;
        return new Keys(new Key(secret.Value), previous, sealsFrom);
    }

    /// <summary>Whether <paramref name="value"/> (a signature, or a redacted block's data) says it is Corridor's.</summary>
    public static bool IsCorridors(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The signature of a <c>thinking</c> block of <paramref name="thinking"/>, with the key that signs now.</summary>
    public string Sign(string thinking) => Prefix + Convert.ToBase64String(Signing().Mac(thinking));

    /// <summary>Whether <paramref name="signature"/> is the one Corridor made, with the current or the previous key, for <paramref name="thinking"/>.</summary>
    public bool Verifies(string thinking, string? signature)
    {
        if (!IsCorridors(signature))
        {
            return false;
        }
        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(signature![Prefix.Length..], given, out var written) || written != given.Length)
        {
            return false;
        }
        var keys = _keys;
        return CryptographicOperations.FixedTimeEquals(given, keys.Current.Mac(thinking))
            || (keys.Previous is { } previous && CryptographicOperations.FixedTimeEquals(given, previous.Mac(thinking)));
    }

    /// <summary>The data of a <c>redacted_thinking</c> block carrying <paramref name="reasoning"/>, sealed with the key that seals now.</summary>
    public string Seal(string reasoning) => Prefix + Convert.ToBase64String(Signing().Seal(reasoning));

    /// <summary>
    /// The reasoning sealed in <paramref name="data"/>; null when it is not Corridor's, or neither the current nor the previous
    /// key's, or was altered.
    /// </summary>
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
        var keys = _keys;
        return keys.Current.Open(sealedBytes) ?? keys.Previous?.Open(sealedBytes);
    }

    /// <summary>The key that signs and seals now: the current one, or the one a rotation replaced until <see cref="GatewaySecrets.SealingDelay"/> after it.</summary>
    private Key Signing()
    {
        var keys = _keys;
        return keys.Previous is { } previous && _time.GetUtcNow() < keys.CurrentSealsFrom ? previous : keys.Current;
    }

    /// <summary>The keys a seal holds: swapped whole when a rotation is taken up.</summary>
    private sealed record Keys(Key Current, Key? Previous, DateTimeOffset CurrentSealsFrom);

    /// <summary>The two keys derived from one reasoning key.</summary>
    private sealed class Key
    {
        private const int NonceBytes = 12;
        private const int TagBytes = 16;

        private readonly byte[] _signingKey;
        private readonly byte[] _sealingKey;

        public Key(byte[] secret)
        {
            _signingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: "corridor thinking signature"u8.ToArray());
            _sealingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: "corridor redacted thinking"u8.ToArray());
        }

        public byte[] Mac(string thinking) => HMACSHA256.HashData(_signingKey, Encoding.UTF8.GetBytes(thinking));

        public byte[] Seal(string reasoning)
        {
            var plain = Encoding.UTF8.GetBytes(reasoning);
            var sealedBytes = new byte[NonceBytes + plain.Length + TagBytes];
            var nonce = sealedBytes.AsSpan(0, NonceBytes);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(_sealingKey, TagBytes);
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes, plain.Length), sealedBytes.AsSpan(NonceBytes + plain.Length), "redacted_thinking"u8);
            return sealedBytes;
        }

        /// <summary>The reasoning in <paramref name="sealedBytes"/>; null when this key did not seal them, or they were altered.</summary>
        public string? Open(byte[] sealedBytes)
        {
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
    }
}
