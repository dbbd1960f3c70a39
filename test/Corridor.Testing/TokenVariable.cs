using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Corridor.Testing;

/// <summary>
/// A random token (the admin token, say) in an environment variable of its own, set while this lives and cleared when
/// disposed, so no other test sees it. The gateway's configuration names the variable (<c>server.adminTokenEnv</c>:
/// <see cref="TestCatalog.Yaml(Uri, string?, string?)"/> with <see cref="Name"/>); a <c>corridor serve</c> process inherits it.
/// </summary>
public sealed class TokenVariable : IDisposable
{
    public TokenVariable() => Environment.SetEnvironmentVariable(Name, Token);

    public string Name { get; } = "CORRIDOR_TEST_TOKEN_" + Guid.NewGuid().ToString("N");

    public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    /// <summary>An HTTP client for <paramref name="baseAddress"/> that presents the token.</summary>
    public HttpClient Client(Uri baseAddress)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    public void Dispose() => Environment.SetEnvironmentVariable(Name, null);
}
