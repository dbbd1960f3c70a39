using System.Security.Cryptography;
using System.Text;

namespace Corridor.Gateway.Admin;

/// <summary>
/// Checks the admin API's bearer token in constant time. Both sides are hashed with SHA-256 first and the digests compared
/// with <see cref="CryptographicOperations.FixedTimeEquals"/>: comparing the raw bytes would return at once on a length
/// difference (FixedTimeEquals is only constant-time for inputs of equal length), telling a prober the token's length.
/// </summary>
internal static class AdminToken
{
    private const string Bearer = "Bearer ";

    /// <summary>
    /// The token as configured, without the spaces or line break a value pasted into the environment often brings (a
    /// presented token is trimmed too, so an untrimmed one could never match); null when there is none.
    /// </summary>
    public static string? Configured(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    public static bool Matches(string? authorization, string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> expected = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim()), presented);
        SHA256.HashData(Encoding.UTF8.GetBytes(token), expected);
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }
}
