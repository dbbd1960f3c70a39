using Corridor.Core.Audit;
using Corridor.Core.Tenants;

namespace Corridor.Core.Screening;

/// <summary>A tenant after screening, and the match that flagged it (null when screening changed nothing).</summary>
public sealed record ScreeningOutcome(Tenant Tenant, ScreeningMatch? Flagged)
{
    public bool IsFlagged => Flagged is not null;
}

/// <summary>
/// When a tenant is screened and what a match does to its <see cref="DeniedPartyStatus"/>:
/// <list type="bullet">
/// <item>a new tenant is screened; a match makes it <see cref="DeniedPartyStatus.Pending"/>;</item>
/// <item>an updated tenant that is <see cref="DeniedPartyStatus.Clear"/> is screened again; one that is
/// <see cref="DeniedPartyStatus.Cleared"/> only when its legal name, country or controlling country changed (the review
/// covered the old ones); one that is pending or confirmed stays so;</item>
/// <item>after a new list is imported, every <see cref="DeniedPartyStatus.Clear"/> tenant is screened again.</item>
/// </list>
/// Only an operator's review (<see cref="Review"/>) moves a tenant out of pending.
/// </summary>
public static class TenantScreening
{
    public static ScreeningOutcome OnCreate(Tenant tenant, DeniedPartyScreener screener)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return Flag(tenant, screener);
    }

    public static ScreeningOutcome OnUpdate(Tenant before, Tenant after, DeniedPartyScreener screener)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var identityChanged = before.LegalName != after.LegalName
            || before.Country != after.Country
            || before.EffectiveControllingCountry != after.EffectiveControllingCountry;
        return after.DeniedParty switch
        {
            DeniedPartyStatus.Clear => Flag(after, screener),
            DeniedPartyStatus.Cleared when identityChanged => Flag(after, screener),
            _ => new ScreeningOutcome(after, null),
        };
    }

    public static ScreeningOutcome OnListChange(Tenant tenant, DeniedPartyScreener screener)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return tenant.DeniedParty == DeniedPartyStatus.Clear ? Flag(tenant, screener) : new ScreeningOutcome(tenant, null);
    }

    /// <summary>The operator's decision: <c>confirm</c> keeps the tenant refused, <c>clear</c> lets it through.</summary>
    public static Tenant Review(Tenant tenant, bool confirm)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return tenant with { DeniedParty = confirm ? DeniedPartyStatus.Confirmed : DeniedPartyStatus.Cleared };
    }

    /// <summary>The <c>denied_party.flag</c> record of a match: the listed party, the name that matched, the scores and what set off the screening.</summary>
    public static AuditEntry FlagEntry(Tenant tenant, ScreeningMatch match, string trigger, string actor, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(match);
        return new AuditEntry(at, actor, AuditActions.DeniedPartyFlag, tenant.Id, AuditDetails.Write(json =>
        {
            json.WriteString("trigger", trigger);
            json.WriteString("legal_name", tenant.LegalName);
            json.WriteString("listed_name", match.Entry.Name);
            json.WriteString("matched_name", match.MatchedName);
            json.WriteString("listed_country", match.Entry.Country);
            json.WriteString("program", match.Entry.Program);
            json.WriteNumber("name_score", match.NameScore);
            json.WriteString("country_effect", CountryEffectName(match.Country));
            json.WriteNumber("score", match.Score);
            json.WriteString("status", TenantNames.Name(DeniedPartyStatus.Pending));
        }));
    }

    /// <summary>The <c>denied_party.review</c> record: the decision, the operator's note, and the status before and after.</summary>
    public static AuditEntry ReviewEntry(Tenant before, Tenant after, string note, string actor, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return new AuditEntry(at, actor, AuditActions.DeniedPartyReview, after.Id, AuditDetails.Write(json =>
        {
            json.WriteString("decision", after.DeniedParty == DeniedPartyStatus.Confirmed ? "confirm" : "clear");
            json.WriteString("note", note);
            json.WriteString("from", TenantNames.Name(before.DeniedParty));
            json.WriteString("to", TenantNames.Name(after.DeniedParty));
        }));
    }

    public static string CountryEffectName(CountryEffect effect) => effect switch
    {
        CountryEffect.Same => "same",
        CountryEffect.Different => "different",
        _ => "none",
    };

    private static ScreeningOutcome Flag(Tenant tenant, DeniedPartyScreener screener)
    {
        ArgumentNullException.ThrowIfNull(screener);
        var matches = screener.Screen(tenant);
        return matches.Count == 0
            ? new ScreeningOutcome(tenant, null)
            : new ScreeningOutcome(tenant with { DeniedParty = DeniedPartyStatus.Pending }, matches[0]);
    }
}
