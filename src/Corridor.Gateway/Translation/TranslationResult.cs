namespace Corridor.Gateway.Translation;

/// <summary>
/// Result of translating a body: the new UTF-8 JSON body, or a client-facing error message (the gateway answers 400 with
/// it). <see cref="Anomaly"/> is set on a body that had to change what the upstream said to be valid in the client's
/// dialect: a code for the request's ledger row.
/// </summary>
internal readonly record struct TranslationResult(byte[]? Body, string? Error, string? ErrorParam = null, string? Anomaly = null)
{
    public bool Succeeded => Body is not null;

    public static TranslationResult Ok(byte[] body, string? anomaly = null) => new(body, null, null, anomaly);

    public static TranslationResult Fail(Problem problem) => new(null, problem.Message, problem.Param);
}

/// <summary>Token counts seen by a translator (from the upstream's usage).</summary>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens);
