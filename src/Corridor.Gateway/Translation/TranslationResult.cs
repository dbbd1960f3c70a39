namespace Corridor.Gateway.Translation;

/// <summary>Result of translating a body: the new UTF-8 JSON body, or a client-facing error message (the gateway answers 400 with it).</summary>
internal readonly record struct TranslationResult(byte[]? Body, string? Error, string? ErrorParam = null)
{
    public bool Succeeded => Body is not null;

    public static TranslationResult Ok(byte[] body) => new(body, null);

    public static TranslationResult Fail(Problem problem) => new(null, problem.Message, problem.Param);
}

/// <summary>Token counts seen by a translator (from the upstream's usage).</summary>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens);
