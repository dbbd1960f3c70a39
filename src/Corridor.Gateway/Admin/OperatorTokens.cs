using Corridor.Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Admin;

/// <summary>
/// The operator's tokens, read once at start from the environment variables the <c>server:</c> section names, and
/// whether a request presents one (compared by <see cref="AdminToken"/>, in constant time). The admin token
/// (<c>server.adminTokenEnv</c>) opens the admin API, the detail of <c>/healthz</c> and <c>/readyz</c>, and
/// <c>/metrics</c>; the metrics token (<c>server.metricsTokenEnv</c>) opens <c>/metrics</c> alone, so a scraper need not
/// hold a token that issues keys (docs/observability.md).
/// </summary>
internal sealed class OperatorTokens(ServerOptions server)
{
    /// <summary>The admin token; null when the variable is unset or blank (the admin API is off).</summary>
    public string? Admin { get; } = AdminToken.Configured(Environment.GetEnvironmentVariable(server.AdminTokenEnv));

    /// <summary>The metrics token; null when the variable is unset or blank.</summary>
    public string? Metrics { get; } = AdminToken.Configured(Environment.GetEnvironmentVariable(server.MetricsTokenEnv));

    /// <summary>Whether <paramref name="request"/> carries the admin token as <c>Authorization: Bearer</c>.</summary>
    public bool IsAdmin(HttpRequest request) => Admin is { } token && AdminToken.Matches(request.Headers.Authorization.ToString(), token);

    /// <summary>Whether <paramref name="request"/> carries the metrics token or the admin token.</summary>
    public bool MayScrape(HttpRequest request) =>
        IsAdmin(request) || (Metrics is { } token && AdminToken.Matches(request.Headers.Authorization.ToString(), token));
}
