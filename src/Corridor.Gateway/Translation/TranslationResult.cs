namespace Corridor.Gateway.Translation;

/// <summary>
/// Result of translating a body: the new UTF-8 JSON body, or a client-facing error message (the gateway answers 400 with
/// it). <see cref="Anomaly"/> is set on a body that had to change what the upstream said to be valid in the client's
/// dialect: a code for the request's ledger row. A result with an <see cref="Error"/> and an <see cref="Anomaly"/> is an
/// answer the upstream gave but said it could not finish (<see cref="Interrupted"/>): served, and billed, as an error.
/// </summary>
internal readonly record struct TranslationResult(byte[]? Body, string? Error, string? ErrorParam = null, string? Anomaly = null)
{
    public bool Succeeded => Body is not null;

    public static TranslationResult Ok(byte[] body, string? anomaly = null) => new(body, null, null, anomaly);

    public bool IsInterrupted => Body is null && Anomaly is not null;

    public static TranslationResult Fail(Problem problem) => new(null, problem.Message, problem.Param);

    public static TranslationResult Interrupted(string message, string code) => new(null, message, null, code);
}

/// <summary>Token counts seen by a translator (from the upstream's usage).</summary>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens);
