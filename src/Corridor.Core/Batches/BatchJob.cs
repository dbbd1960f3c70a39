namespace Corridor.Core.Batches;

/// <summary>The API a batch was made through: its objects and results are written in that API's shape.</summary>
public enum BatchApi
{
    /// <summary>OpenAI's Batch API: an uploaded JSONL file of requests, results as output and error files.</summary>
    OpenAI,

    /// <summary>Anthropic's Message Batches: the requests in the create call, results read as JSONL.</summary>
    Anthropic,
}

/// <summary>Where a batch is in its life; how it ended is <see cref="BatchJob.Ending"/>.</summary>
public static class BatchStates
{
    public const string InProgress = "in_progress";
    public const string Cancelling = "cancelling";
    public const string Ended = "ended";
}

/// <summary>How an ended batch ended.</summary>
public static class BatchEndings
{
    /// <summary>Every request ran (each succeeded or errored).</summary>
    public const string Completed = "completed";

    /// <summary>Cancelled by its owner: the requests not yet run were not run.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Its completion window ran out: the requests not yet run were not run.</summary>
    public const string Expired = "expired";

    /// <summary>
    /// It could not run at all: its key was refused (revoked, expired, or it or its tenant suspended) before any of its requests
    /// was answered, so none was run; <see cref="BatchJob.Failure"/> says why (OpenAI's <c>failed</c>, with the batch's errors).
    /// </summary>
    public const string Failed = "failed";
}

/// <summary>Why a batch failed as a whole (<see cref="BatchEndings.Failed"/>): the refusal's code and message, as a live request of its key would get them.</summary>
public sealed record BatchFailure(string Code, string Message);

/// <summary>Where one request of a batch is: pending until run, then one of the four results, Anthropic's names.</summary>
public static class BatchItemStates
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Errored = "errored";
    public const string Canceled = "canceled";
    public const string Expired = "expired";
}

/// <summary>
/// What a batch's requests not run become when it ends: <see cref="State"/> (canceled when it was cancelled, expired past its
/// completion window), or errored when its key was revoked or suspended, each with the one refusal they would all have had
/// (<see cref="Status"/> and <see cref="Response"/>, the error in the batch's dialect) instead of a run and a ledger row each.
/// </summary>
public sealed record BatchNotRun(string State, int? Status = null, byte[]? Response = null)
{
    public static readonly BatchNotRun Canceled = new(BatchItemStates.Canceled);

    public static readonly BatchNotRun Expired = new(BatchItemStates.Expired);

    /// <summary><paramref name="item"/> as the batch's end leaves it: as this says when it is pending, else as it is.</summary>
    public BatchItem Apply(BatchItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.State == BatchItemStates.Pending ? item with { State = State, Status = Status, Response = Response } : item;
    }
}

/// <summary>
/// A batch of requests that Corridor runs in the background through the same pipeline as a live request of its key
/// (authentication, enforcement, policy, limits and budgets, routing, metering, the ledger and the monitor), and whose
/// results its owner reads later (docs/batches.md).
/// </summary>
/// <remarks>
/// Its id is <c>batch_…</c> (OpenAI) or <c>msgbatch_…</c> (Anthropic); <see cref="Endpoint"/> is the path every request
/// of the batch is for (<c>/v1/chat/completions</c>, <c>/v1/responses</c>, <c>/v1/embeddings</c> or <c>/v1/messages</c>);
/// <see cref="State"/> is one of <see cref="BatchStates"/>.
/// </remarks>
public sealed record BatchJob(
    string Id,
    BatchApi Api,
    string TenantId,
    string KeyId,
    string Endpoint,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt)
{
    /// <summary>The uploaded file the requests came from (OpenAI); null for Anthropic.</summary>
    public string? InputFileId { get; init; }

    /// <summary>The caller's <c>completion_window</c> as sent (OpenAI's <c>24h</c>).</summary>
    public string? CompletionWindow { get; init; }

    /// <summary>
    /// The model every request of the batch names, when they all name the same one (OpenAI's batch <c>model</c>); null when
    /// they name several, or one names none.
    /// </summary>
    public string? Model { get; init; }

    /// <summary>The caller's metadata, a JSON object as sent, or null.</summary>
    public string? Metadata { get; init; }

    /// <summary>
    /// The creating request's user agent and address: each of the batch's requests is recorded and observed by the monitor
    /// as coming from them (the agent followed by <c>corridor-batch</c>), so bulk work stays attributed to where it came from.
    /// </summary>
    public string? UserAgent { get; init; }

    /// <inheritdoc cref="UserAgent"/>
    public string? ClientIp { get; init; }

    /// <summary>
    /// The <c>anthropic-beta</c> names the creating request sent (a message batch's), comma-separated, checked as a live
    /// request's are; each of the batch's requests goes upstream with those its vendor enables, as it would live. Null when none.
    /// </summary>
    public string? Betas { get; init; }

    /// <summary>One of <see cref="BatchEndings"/> once <see cref="State"/> is <see cref="BatchStates.Ended"/>.</summary>
    public string? Ending { get; init; }

    /// <summary>Why it failed, once it ended <see cref="BatchEndings.Failed"/>; null otherwise.</summary>
    public BatchFailure? Failure { get; init; }

    public DateTimeOffset? CancellingAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The file of successful results, once ended (OpenAI).</summary>
    public string? OutputFileId { get; init; }

    /// <summary>The file of failed, cancelled and expired requests, once ended, when there were any (OpenAI).</summary>
    public string? ErrorFileId { get; init; }

    /// <summary>
    /// How long after they are written its result files are kept (OpenAI's <c>output_expires_after</c>, else the operator's
    /// file retention when it was made); null for Anthropic, and for a batch made before files expired.
    /// </summary>
    public TimeSpan? OutputExpiresAfter { get; init; }

    /// <summary>
    /// When its stored requests and answers are removed (the batch itself is kept): Anthropic's results are no longer
    /// available from then (its <c>archived_at</c>); an OpenAI batch's results are in its files, which expire on their own.
    /// Null for a batch made before batches were archived: it keeps them.
    /// </summary>
    public DateTimeOffset? ArchivesAt { get; init; }

    /// <summary>Its requests by state, as stored when it was read.</summary>
    public BatchCounts Counts { get; init; } = BatchCounts.None;

    /// <summary>The tokens its answered requests were metered at, summed when it was read (OpenAI's batch <c>usage</c>).</summary>
    public BatchTokens Tokens { get; init; } = BatchTokens.None;

    public bool IsEnded => State == BatchStates.Ended;

    /// <summary>Whether, at <paramref name="now"/>, it has ended and its stored requests and answers are gone (or due to go).</summary>
    public bool IsArchived(DateTimeOffset now) => IsEnded && ArchivesAt is { } at && now >= at;
}

/// <summary>A batch's requests by state.</summary>
public sealed record BatchCounts(long Pending, long Succeeded, long Errored, long Canceled, long Expired)
{
    public static readonly BatchCounts None = new(0, 0, 0, 0, 0);

    public long Total => Pending + Succeeded + Errored + Canceled + Expired;

    /// <summary>The count of requests in <paramref name="state"/> (one of <see cref="BatchItemStates"/>) added.</summary>
    public BatchCounts Add(string state, long count) => state switch
    {
        BatchItemStates.Pending => this with { Pending = Pending + count },
        BatchItemStates.Succeeded => this with { Succeeded = Succeeded + count },
        BatchItemStates.Errored => this with { Errored = Errored + count },
        BatchItemStates.Canceled => this with { Canceled = Canceled + count },
        BatchItemStates.Expired => this with { Expired = Expired + count },
        _ => throw new InvalidDataException($"A batch request is in a state this Corridor does not know: '{state}'."),
    };
}

/// <summary>Tokens as the meter counted them: input (of which read from the prompt cache) and output (of which reasoning).</summary>
public sealed record BatchTokens(long Input, long Cached, long Output, long Reasoning)
{
    public static readonly BatchTokens None = new(0, 0, 0, 0);

    public BatchTokens Add(BatchTokens other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Input + other.Input, Cached + other.Cached, Output + other.Output, Reasoning + other.Reasoning);
    }
}

/// <summary>
/// One request of a batch, at its place in the batch: the body it sends and, once run, what it got back.
/// </summary>
/// <param name="Position">Its place in the batch, from 0, in the order given.</param>
/// <param name="CustomId">The caller's id for it, unique in the batch.</param>
/// <param name="Body">The request's JSON body, as for a live request to the batch's endpoint.</param>
public sealed record BatchItem(int Position, string CustomId, byte[] Body)
{
    /// <summary>One of <see cref="BatchItemStates"/>.</summary>
    public string State { get; init; } = BatchItemStates.Pending;

    /// <summary>The HTTP status the request was answered with, once run.</summary>
    public int? Status { get; init; }

    /// <summary>The request id of the run that answered it (its ledger row's).</summary>
    public string? RequestId { get; init; }

    /// <summary>The answer's JSON body (a completion, a message, an embedding list, or an error), once run.</summary>
    public byte[]? Response { get; init; }

    /// <summary>
    /// How many of its runs ended without a result (cut short by the gateway stopping, refused by a rate limit): part of its
    /// request id, so each such run is a ledger row of its own, while a run after a crash (which could not count it) has the
    /// crashed run's id.
    /// </summary>
    public int Attempt { get; init; }

    /// <summary>
    /// When its current attempt started, stored before it runs: the time its ledger row is recorded at, so a run after a crash
    /// has the crashed run's id and time, and the ledger, which keeps one row per request id and time, keeps the first.
    /// </summary>
    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The tokens its answer was metered at (none for a request refused or not run).</summary>
    public BatchTokens Tokens { get; init; } = BatchTokens.None;
}

/// <summary>
/// A file a tenant uploaded (or a batch's results): its bytes are kept in the store, readable only by its tenant.
/// <see cref="Purpose"/> is OpenAI's: <c>batch</c> for input, <c>batch_output</c> for results.
/// </summary>
public sealed record StoredFile(string Id, string TenantId, string Purpose, string FileName, long Bytes, DateTimeOffset CreatedAt)
{
    /// <summary>
    /// When it expires (OpenAI's <c>expires_at</c>): from then it is not found, and its bytes are removed. Null: it never
    /// expires (a file stored before files expired).
    /// </summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The bytes, when read with them; null in lists.</summary>
    public byte[]? Content { get; init; }
}
