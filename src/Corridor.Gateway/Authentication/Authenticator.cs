using Corridor.Core.Tenants;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Authentication;

/// <summary>Finds the caller's key in the headers either dialect uses: <c>Authorization: Bearer</c> or <c>x-api-key</c>.</summary>
internal sealed class Authenticator(KeyCache keys)
{
    /// <summary>The refusal of a revoked key's request; also what a batch of it ends with (docs/batches.md).</summary>
    public static readonly GatewayError Revoked = new(ErrorKind.Authentication, "This API key has been revoked.", "invalid_api_key");

    /// <summary>The refusal of a request of a key past its <c>expires_at</c>; also what a batch of it ends with.</summary>
    public static readonly GatewayError Expired = new(ErrorKind.Authentication, "This API key has expired.", "invalid_api_key");

    /// <summary>
    /// What refuses <paramref name="key"/>'s work done later on a request's behalf (a batch's requests, a shadow mirror) at
    /// <paramref name="now"/>: revoked or expired since; null while it may be used.
    /// </summary>
    public static GatewayError? Refusal(ApiKey key, DateTimeOffset now) => key.IsRevoked ? Revoked : key.HasExpired(now) ? Expired : null;

    public GatewayError? Authenticate(HttpContext context, CorridorRequestFeature call)
    {
        if (keys.IsPastGrace)
        {
            // Fail closed: past the grace period a revoked key may still be in the cache.
            return new GatewayError(ErrorKind.Unavailable,
                $"Corridor cannot reach its store and has served from cached keys for the {keys.Grace.TotalSeconds:0} s it may; requests are refused until the store is back.",
                "store_unavailable") { RetryAfter = "5" };
        }
        AuthenticationResult result;
        AuthenticatedKey? key;
        if (call.InProcess is { } inProcess)
        {
            // A request Corridor makes on a key's behalf: the key as the cache holds it now, so a revocation stops it too.
            key = inProcess.Key is { } own ? keys.Current(own) : null;
            result = key is null ? AuthenticationResult.Unknown
                : key.Key.IsRevoked ? AuthenticationResult.Revoked
                : key.Key.HasExpired(call.ReceivedAt) ? AuthenticationResult.Expired
                : AuthenticationResult.Authenticated;
            key = result == AuthenticationResult.Authenticated ? key : null;
        }
        else
        {
            result = keys.Authenticate(Secret(context.Request.Headers), ConnectionMemo(context), out key);
        }
        call.Caller = key;
        return result switch
        {
            AuthenticationResult.Authenticated => null,
            AuthenticationResult.Missing => new GatewayError(ErrorKind.Authentication,
                "No API key was provided. Send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'.", "missing_api_key"),
            AuthenticationResult.Revoked => Revoked,
            AuthenticationResult.Expired => Expired,
            _ => new GatewayError(ErrorKind.Authentication, "Incorrect API key provided.", "invalid_api_key"),
        };
    }

    /// <summary>
    /// The connection's <see cref="ConnectionKeyMemo"/>, made at its first request; none for HTTP/2 and later, whose
    /// requests on one connection run at once.
    /// </summary>
    private static ConnectionKeyMemo? ConnectionMemo(HttpContext context)
    {
        var protocol = context.Request.Protocol;
        if (!HttpProtocol.IsHttp11(protocol) && !HttpProtocol.IsHttp10(protocol)
            || context.Features.Get<IConnectionItemsFeature>()?.Items is not { } items)
        {
            return null;
        }
        if (items.TryGetValue(typeof(ConnectionKeyMemo), out var kept) && kept is ConnectionKeyMemo memo)
        {
            return memo;
        }
        memo = new ConnectionKeyMemo();
        items[typeof(ConnectionKeyMemo)] = memo;
        return memo;
    }

    private static ReadOnlySpan<char> Secret(IHeaderDictionary headers)
    {
        var apiKey = headers["x-api-key"];
        if (apiKey.Count > 0 && !string.IsNullOrEmpty(apiKey[0]))
        {
            return apiKey[0].AsSpan().Trim();
        }
        var authorization = headers.Authorization;
        if (authorization.Count > 0 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value.AsSpan(7).Trim();
        }
        return default;
    }
}
