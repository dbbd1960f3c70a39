using System.Security.Cryptography;
using System.Text;
using Corridor.Core.Tenants;

namespace Corridor.Core.Tests.Tenants;

public sealed class ApiKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Create_IssuesSecretIdPrefixAndHashInTheDocumentedFormat()
    {
        var issued = ApiKeys.Create("acme", Now, "ci");

        Assert.Matches("^sk-cor-[0-9A-Za-z]{40}$", issued.Secret);
        Assert.Equal(ApiKeys.SecretLength, issued.Secret.Length);
        Assert.Matches("^key_[0-9a-f]{16}$", issued.Key.Id);
        Assert.Equal(issued.Secret[..12], issued.Key.Prefix);
        Assert.Matches("^[0-9a-f]{64}$", issued.Key.Hash);
        Assert.Equal(ApiKeys.Hash(issued.Secret), issued.Key.Hash);
        Assert.Equal("acme", issued.Key.TenantId);
        Assert.Equal("ci", issued.Key.Name);
        Assert.Equal(Now, issued.Key.CreatedAt);
        Assert.False(issued.Key.IsRevoked);
        Assert.True(ApiKeys.IsWellFormedSecret(issued.Secret));
    }

    [Fact]
    public void Create_NeverRepeatsSecretsOrIds()
    {
        var issued = Enumerable.Range(0, 2000).Select(_ => ApiKeys.Create("acme", Now)).ToList();

        Assert.Equal(issued.Count, issued.Select(k => k.Secret).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(issued.Count, issued.Select(k => k.Key.Id).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(issued.Count, issued.Select(k => k.Key.Hash).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void NewSecret_UsesEveryBase62CharacterAndNothingElse()
    {
        var seen = new HashSet<char>();
        for (var i = 0; i < 500; i++)
        {
            seen.UnionWith(ApiKeys.NewSecret().AsSpan(ApiKeys.SecretPrefix.Length).ToArray());
        }

        Assert.Equal(62, seen.Count);
        Assert.All(seen, c => Assert.True(char.IsAsciiLetterOrDigit(c)));
    }

    [Theory]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("\u00e9", "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c")] // UTF-8 C3 A9
    [InlineData("sk-cor-0123456789abcdefghijABCDEFGHIJ0123456789", "bd292940cc8e9260bc4f70ea8574505a58ba8f8acef94adb85063db91f8d99f1")]
    public void Hash_IsLowercaseHexSha256OfUtf8(string secret, string expected)
    {
        Assert.Equal(expected, ApiKeys.Hash(secret));
        Assert.Equal(ApiKeys.Hash(secret), ApiKeys.Hash(secret));
    }

    [Fact]
    public void TryHash_MatchesHashWithoutAllocating()
    {
        var secret = ApiKeys.NewSecret();
        Span<char> hex = stackalloc char[ApiKeys.HashLength];
        Assert.True(ApiKeys.TryHash(secret, hex)); // warm up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ok = ApiKeys.TryHash(secret, hex);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(ok);
        Assert.Equal(0, allocated);
        Assert.Equal(ApiKeys.Hash(secret), hex.ToString());
    }

    [Fact]
    public void TryHash_HashesLongInputThroughARentedBuffer()
    {
        var longSecret = new string('x', 5000);
        Span<char> hex = stackalloc char[ApiKeys.HashLength];

        Assert.True(ApiKeys.TryHash(longSecret, hex));
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(longSecret)));
        Assert.Equal(expected, hex.ToString());
    }

    [Fact]
    public void TryHash_ReturnsFalseWhenTheDestinationIsTooShort()
    {
        Span<char> hex = stackalloc char[ApiKeys.HashLength - 1];

        Assert.False(ApiKeys.TryHash("sk-cor-x", hex));
    }

    [Fact]
    public void VisiblePrefix_NeverRevealsMoreThanTwelveCharacters()
    {
        for (var i = 0; i < 200; i++)
        {
            var issued = ApiKeys.Create("acme", Now);
            Assert.Equal(ApiKeys.VisiblePrefixLength, issued.Key.Prefix.Length);
            Assert.StartsWith(issued.Key.Prefix, issued.Secret, StringComparison.Ordinal);
            // The prefix is the fixed marker plus 5 random characters: the other 35 stay secret.
            Assert.Equal(ApiKeys.SecretLength - 12, issued.Secret.Length - issued.Key.Prefix.Length);
        }

        Assert.Equal("short", ApiKeys.VisiblePrefix("short"));
    }

    [Theory]
    [InlineData("sk-cor-0123456789abcdefghijABCDEFGHIJ0123456789", true)]
    [InlineData("sk-cor-0123456789abcdefghijABCDEFGHIJ012345678", false)] // 39 random characters
    [InlineData("sk-cor-0123456789abcdefghijABCDEFGHIJ01234567890", false)] // 41
    [InlineData("sk-cor-0123456789abcdefghijABCDEFGHIJ012345678_", false)]
    [InlineData("sk-xyz-0123456789abcdefghijABCDEFGHIJ0123456789", false)]
    [InlineData("", false)]
    public void IsWellFormedSecret_ChecksPrefixLengthAndAlphabet(string candidate, bool expected)
    {
        Assert.Equal(expected, ApiKeys.IsWellFormedSecret(candidate));
    }

    [Fact]
    public void SecretLength_IsPrefixPlusRandomPart()
    {
        Assert.Equal(ApiKeys.SecretLength, ApiKeys.SecretPrefix.Length + ApiKeys.SecretRandomLength);
        Assert.StartsWith(ApiKeys.KeyIdPrefix, ApiKeys.NewKeyId(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90d", "2026-04-01T00:00:00+00:00")]
    [InlineData(" 12h ", "2026-01-01T12:00:00+00:00")]
    [InlineData("2027-03-01", "2027-03-01T00:00:00+00:00")]
    [InlineData("2027-03-01T09:00:00+08:00", "2027-03-01T01:00:00+00:00")]
    public void AnExpiry_IsDaysOrHoursFromNow_OrADateOrInstant(string text, string expected)
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(ApiKeys.TryParseExpiry(text, now, out var expires));

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), expires);
    }

    [Theory]
    [InlineData("")]
    [InlineData("d")]
    [InlineData("0d")]
    [InlineData("-5d")]
    [InlineData("90m")]
    [InlineData("03/01/2027")]
    [InlineData("soon")]
    public void AnExpiry_OfAnyOtherShape_IsNotRead(string text) =>
        Assert.False(ApiKeys.TryParseExpiry(text, DateTimeOffset.UnixEpoch, out _));

    [Fact]
    public void AKey_HasExpired_FromItsExpiryOn_AndAKeyWithoutOneNever()
    {
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        var expiring = ApiKeys.Create("acme", now, expiresAt: now.AddHours(1)).Key;

        Assert.False(expiring.HasExpired(now.AddMinutes(59)));
        Assert.True(expiring.HasExpired(now.AddHours(1)));
        Assert.False(ApiKeys.Create("acme", now).Key.HasExpired(DateTimeOffset.MaxValue));
    }
}
