namespace Corridor.Gateway.Batches;

/// <summary>The <c>batches:</c> section (docs/batches.md): how batches are run and how large they may be.</summary>
/// <param name="Concurrency">How many of a batch's requests run at once on a gateway (1–64).</param>
/// <param name="Parallel">How many batches a gateway runs at once, oldest first (1–64): each runs <paramref name="Concurrency"/> requests at a time.</param>
/// <param name="MaxRequests">The most requests one batch may have (OpenAI's limit is 50,000, Anthropic's 100,000).</param>
/// <param name="MaxFileBytes">The largest file a tenant may upload (<c>POST /v1/files</c>) and the largest Anthropic create body.</param>
/// <param name="CompletionWindow">How long a batch has to run before its remaining requests expire (OpenAI's and Anthropic's 24 hours).</param>
/// <param name="MaxTenantBytes">
/// The most a tenant may keep stored for batches (<see cref="Storage.ICorridorStore.GetStoredBatchBytesAsync"/>): an upload or a
/// message batch that would take it past this is refused until the tenant deletes files or batches it no longer needs.
/// </param>
/// <param name="LimitShare">
/// The share (above 0, at most 1) of each requests- and tokens-per-minute limit of a tenant and key that a batch's request
/// may fill, live and batch use of the window counted together; live requests keep the rest (docs/limits-and-budgets.md).
/// </param>
/// <param name="FileRetention">
/// How long a file (an upload, a batch's results) is kept when its client does not say (OpenAI's <c>expires_after</c>,
/// <c>output_expires_after</c>), and the longest it may ask for: OpenAI's 30 days for files of batches.
/// </param>
/// <param name="ResultsRetention">
/// How long after a batch is made its stored requests and answers are kept: Anthropic's 29 days for its results (the batch
/// itself is kept; its results are no longer available). An OpenAI batch's results are in its files, which expire on their own.
/// </param>
public sealed record BatchOptions(
    int Concurrency = 4,
    int Parallel = 4,
    int MaxRequests = 50_000,
    long MaxFileBytes = 100L * 1024 * 1024,
    TimeSpan? CompletionWindow = null,
    long MaxTenantBytes = 10L * 1024 * 1024 * 1024,
    double LimitShare = 0.5,
    TimeSpan? FileRetention = null,
    TimeSpan? ResultsRetention = null)
{
    public static readonly BatchOptions Default = new();

    /// <summary>The longest retention that may be configured, of files and of results: ten years.</summary>
    private static readonly TimeSpan LongestRetention = TimeSpan.FromDays(3650);

    public TimeSpan EffectiveCompletionWindow => CompletionWindow ?? TimeSpan.FromHours(24);

    public TimeSpan EffectiveFileRetention => FileRetention ?? TimeSpan.FromDays(30);

    public TimeSpan EffectiveResultsRetention => ResultsRetention ?? TimeSpan.FromDays(29);

    public IEnumerable<string> Validate()
    {
        if (Concurrency is < 1 or > 64)
        {
            yield return "batches.concurrency must be 1 to 64";
        }
        if (Parallel is < 1 or > 64)
        {
            yield return "batches.parallel must be 1 to 64";
        }
        if (MaxRequests is < 1 or > 100_000)
        {
            yield return "batches.maxRequests must be 1 to 100000";
        }
        if (MaxFileBytes is < 1024 or > 1L << 30)
        {
            yield return "batches.maxFileBytes must be 1024 to 1073741824";
        }
        if (MaxTenantBytes is < 1024 or > 1L << 40)
        {
            yield return "batches.maxTenantBytes must be 1024 to 1099511627776";
        }
        if (EffectiveCompletionWindow <= TimeSpan.Zero)
        {
            yield return "batches.completionWindowSeconds must be positive";
        }
        if (EffectiveFileRetention < TimeSpan.FromDays(1) || EffectiveFileRetention > LongestRetention)
        {
            yield return "batches.fileRetentionDays must be 1 to 3650";
        }
        if (EffectiveResultsRetention < TimeSpan.FromDays(1) || EffectiveResultsRetention > LongestRetention)
        {
            yield return "batches.resultsRetentionDays must be 1 to 3650";
        }
        else if (EffectiveResultsRetention <= EffectiveCompletionWindow)
        {
            yield return "batches.resultsRetentionDays must be longer than batches.completionWindowSeconds (results are kept after a batch has ended)";
        }
        if (LimitShare is not (> 0 and <= 1))
        {
            yield return "batches.limitShare must be above 0 and at most 1 (the share of a rate limit batches may use)";
        }
    }
}
