namespace Corridor.Gateway.StoredResponses;

/// <summary>The <c>responses:</c> section (docs/configuration.md): how long stored Responses API answers are kept, and how much of them.</summary>
/// <param name="Retention">
/// How long a stored response (docs/responses.md, "Stored responses") can be read back and continued: OpenAI's 30 days when
/// not set. From then it is not found, and the retention sweep removes it.
/// </param>
/// <param name="MaxTenantBytes">
/// The most a tenant's stored responses may hold (<see cref="Storage.Responses.StoredResponse.Bytes"/>, those not expired):
/// past it, a response is served but not kept, and says <c>store: false</c>, so one tenant cannot fill the store's disk.
/// </param>
public sealed record ResponsesOptions(TimeSpan? Retention = null, long MaxTenantBytes = 10L * 1024 * 1024 * 1024)
{
    public static readonly ResponsesOptions Default = new();

    public TimeSpan EffectiveRetention => Retention ?? TimeSpan.FromDays(30);

    public IEnumerable<string> Validate()
    {
        if (EffectiveRetention < TimeSpan.FromDays(1) || EffectiveRetention > TimeSpan.FromDays(3650))
        {
            yield return "responses.retentionDays must be 1 to 3650";
        }
        if (MaxTenantBytes is < 1024 or > 1L << 40)
        {
            yield return "responses.maxTenantBytes must be 1024 to 1099511627776";
        }
    }
}
