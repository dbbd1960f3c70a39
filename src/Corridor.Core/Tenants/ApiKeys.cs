using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Corridor.Core.Tenants;

/// <summary>A freshly issued key: the <see cref="Secret"/> is shown once to the operator and never stored.</summary>
public sealed record IssuedApiKey(string Secret, ApiKey Key);

/// <summary>
/// Creates API keys and hashes their secrets. A secret is <c>sk-cor-</c> followed by 40 base62 characters
/// (about 238 bits of entropy); only its SHA-256 (lowercase hex) is stored, and the first
/// <see cref="VisiblePrefixLength"/> characters are kept so support staff can tell keys apart.
/// </summary>
public static class ApiKeys
{
    public const string SecretPrefix = "sk-cor-";
    public const int SecretRandomLength = 40;
    public const int SecretLength = 47; // SecretPrefix.Length + SecretRandomLength
    public const int VisiblePrefixLength = 12;
    public const string KeyIdPrefix = "key_";
    public const int KeyIdRandomHexLength = 16;

    /// <summary>Characters of a SHA-256 in hex.</summary>
    public const int HashLength = 64;

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly SearchValues<char> Base62SearchValues = SearchValues.Create(Base62);

    // UTF-8 of any secret up to this many chars is hashed from the stack; longer input rents a buffer.
    private const int MaxStackBytes = 1024;

    /// <summary>Creates a new key for <paramref name="tenantId"/>; the caller stores <see cref="IssuedApiKey.Key"/> and shows the secret once.</summary>
    public static IssuedApiKey Create(string tenantId, DateTimeOffset createdAt, string? name = null, DateTimeOffset? expiresAt = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var secret = NewSecret();
        var key = new ApiKey(NewKeyId(), tenantId, VisiblePrefix(secret), Hash(secret), createdAt, Name: name, ExpiresAt: expiresAt);
        return new IssuedApiKey(secret, key);
    }

    /// <summary>
    /// When a key issued at <paramref name="now"/> expires, from a command line's <c>--expires</c>: a number of days or hours
    /// (<c>90d</c>, <c>12h</c>) from now, or a date or instant in ISO 8601 (<c>2027-03-01</c> is the start of that day, UTC).
    /// </summary>
    public static bool TryParseExpiry(string text, DateTimeOffset now, out DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(text);
        expiresAt = default;
        var trimmed = text.Trim();
        if (trimmed.Length >= 2 && trimmed[^1] is 'd' or 'h'
            && int.TryParse(trimmed.AsSpan(0, trimmed.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && count is > 0 and <= 36_500)
        {
            expiresAt = trimmed[^1] == 'd' ? now.AddDays(count) : now.AddHours(count);
            return true;
        }
        return TenantEdit.TryParseTime(trimmed, out expiresAt);
    }

    /// <summary><c>sk-cor-</c> and 40 base62 characters drawn uniformly from <see cref="RandomNumberGenerator"/>.</summary>
    public static string NewSecret() => string.Create(SecretLength, 0, static (span, _) =>
    {
        SecretPrefix.AsSpan().CopyTo(span);
        RandomNumberGenerator.GetItems(Base62, span[SecretPrefix.Length..]);
    });

    /// <summary><c>key_</c> and 16 lowercase hex characters.</summary>
    public static string NewKeyId() => KeyIdPrefix + RandomNumberGenerator.GetHexString(KeyIdRandomHexLength, lowercase: true);

    /// <summary>The part of a secret that may be shown: at most its first <see cref="VisiblePrefixLength"/> characters.</summary>
    public static string VisiblePrefix(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return secret.Length <= VisiblePrefixLength ? secret : secret[..VisiblePrefixLength];
    }

    /// <summary>True when <paramref name="secret"/> has the shape of a Corridor secret; a cheap check before hashing.</summary>
    public static bool IsWellFormedSecret(ReadOnlySpan<char> secret)
    {
        if (secret.Length != SecretLength || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        return !secret[SecretPrefix.Length..].ContainsAnyExcept(Base62SearchValues);
    }

    /// <summary>
    /// Writes the lowercase hex SHA-256 of the UTF-8 <paramref name="secret"/> into <paramref name="hexDestination"/>
    /// without allocating. Returns false when the destination is shorter than <see cref="HashLength"/>.
    /// </summary>
    public static bool TryHash(ReadOnlySpan<char> secret, Span<char> hexDestination)
    {
        if (hexDestination.Length < HashLength)
        {
            return false;
        }

        var maxBytes = Encoding.UTF8.GetMaxByteCount(secret.Length);
        byte[]? rented = null;
        Span<byte> utf8 = maxBytes <= MaxStackBytes
            ? stackalloc byte[MaxStackBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        var length = 0;
        try
        {
            length = Encoding.UTF8.GetBytes(secret, utf8);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8[..length], digest);
            return Convert.TryToHexStringLower(digest, hexDestination, out _);
        }
        finally
        {
            // The buffer held a secret: clear it, above all before a rented one goes back to the shared pool.
            CryptographicOperations.ZeroMemory(utf8[..length]);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The lowercase hex SHA-256 of the UTF-8 <paramref name="secret"/>.</summary>
    public static string Hash(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return string.Create(HashLength, secret, static (span, s) => TryHash(s, span));
    }
}
