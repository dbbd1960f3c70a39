using Corridor.Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Admin;

/// <summary>
/// The operator's token, read once at start from the environment variable <c>server.adminTokenEnv</c> names, and whether
/// a request presents it (compared by <see cref="AdminToken"/>, in constant time). It opens the admin API and the detail
/// of <c>/healthz</c> and <c>/readyz</c>; without it those two answer their status alone (docs/observability.md).
/// </summary>
internal sealed class OperatorTokens(ServerOptions server)
{
    /// <summary>The admin token; null when the variable is unset or blank (the admin API is off).</summary>
    public string? Admin { get; } = AdminToken.Configured(Environment.GetEnvironmentVariable(server.AdminTokenEnv));

    /// <summary>Whether <paramref name="request"/> carries the admin token as <c>Authorization: Bearer</c>.</summary>
    public bool IsAdmin(HttpRequest request) => Admin is { } token && AdminToken.Matches(request.Headers.Authorization.ToString(), token);
}
