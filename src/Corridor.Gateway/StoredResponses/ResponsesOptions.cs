namespace Corridor.Gateway.StoredResponses;

/// <summary>The <c>responses:</c> section (docs/configuration.md): how long stored Responses API answers are kept.</summary>
/// <param name="Retention">
/// How long a stored response (docs/responses.md, "Stored responses") can be read back and continued: OpenAI's 30 days when
/// not set. From then it is not found, and the retention sweep removes it.
/// </param>
public sealed record ResponsesOptions(TimeSpan? Retention = null)
{
    public static readonly ResponsesOptions Default = new();

    public TimeSpan EffectiveRetention => Retention ?? TimeSpan.FromDays(30);

    public IEnumerable<string> Validate()
    {
        if (EffectiveRetention < TimeSpan.FromDays(1) || EffectiveRetention > TimeSpan.FromDays(3650))
        {
            yield return "responses.retentionDays must be 1 to 3650";
        }
    }
}
