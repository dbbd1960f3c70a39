namespace Corridor.Gateway.FrontDoor;

/// <summary>The kind of failure, which fixes its HTTP status and its name in each dialect.</summary>
internal enum ErrorKind
{
    InvalidRequest,
    Authentication,
    PermissionDenied,
    NotFound,
    RequestTooLarge,
    RateLimited,

    /// <summary>A hard budget is spent: OpenAI's <c>insufficient_quota</c> (429), Anthropic's <c>billing_error</c> (402).</summary>
    QuotaExceeded,
    UpstreamFailed,
    Unavailable,
    Timeout,
}

/// <summary>An error as a value: what the pipeline's steps return instead of throwing.</summary>
internal sealed record GatewayError(ErrorKind Kind, string Message, string? Code = null, string? Param = null)
{
    /// <summary>Set when an upstream said how long to wait.</summary>
    public string? RetryAfter { get; init; }

    /// <summary>
    /// Set when asking again cannot succeed until something else changes (a spent budget, a request larger than a whole
    /// minute's tokens): the answer says <c>x-should-retry: false</c>, which the OpenAI and Anthropic SDKs obey instead
    /// of retrying every 429 twice.
    /// </summary>
    public bool NotRetryable { get; init; }

    /// <summary>An upstream's own status, kept when it is more precise than the kind's default.</summary>
    public int? StatusOverride { get; init; }

    public int Status => StatusOverride ?? Kind switch
    {
        ErrorKind.InvalidRequest => 400,
        ErrorKind.Authentication => 401,
        ErrorKind.PermissionDenied => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.RequestTooLarge => 413,
        ErrorKind.RateLimited or ErrorKind.QuotaExceeded => 429,
        ErrorKind.UpstreamFailed => 502,
        ErrorKind.Unavailable => 503,
        ErrorKind.Timeout => 504,
        _ => 500,
    };

    public string OpenAIType => Kind switch
    {
        ErrorKind.InvalidRequest or ErrorKind.NotFound or ErrorKind.RequestTooLarge or ErrorKind.Authentication => "invalid_request_error",
        ErrorKind.PermissionDenied => "permission_error",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.QuotaExceeded => "insufficient_quota",
        ErrorKind.Timeout => "timeout_error",
        _ => "api_error",
    };

    public string AnthropicType => Kind switch
    {
        ErrorKind.InvalidRequest => "invalid_request_error",
        ErrorKind.Authentication => "authentication_error",
        ErrorKind.PermissionDenied => "permission_error",
        ErrorKind.NotFound => "not_found_error",
        ErrorKind.RequestTooLarge => "request_too_large",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.QuotaExceeded => "billing_error",
        ErrorKind.Unavailable => "overloaded_error",
        ErrorKind.Timeout => "timeout_error",
        _ => "api_error",
    };

    public static GatewayError Invalid(string message, string? param = null) => new(ErrorKind.InvalidRequest, message, "invalid_request", param);
}
