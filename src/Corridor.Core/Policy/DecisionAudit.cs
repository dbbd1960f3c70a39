using Corridor.Core.Audit;

namespace Corridor.Core.Policy;

/// <summary>The audit record of one decision: its input, outcome, the serving options it allowed and the rule trace.</summary>
public static class DecisionAudit
{
    public static AuditEntry Entry(string decisionId, string requestId, DecisionInput input, Decision decision, DateTimeOffset time)
    {
        var request = input.Request;
        var tenant = input.Tenant;
        var details = AuditDetails.Write(json =>
        {
            json.WriteString("request_id", requestId);
            json.WriteString("policy_version", decision.PolicyVersion);
            json.WriteString("tenant", tenant.TenantId);
            json.WriteString("key", input.KeyId);
            json.WriteString("country", tenant.Country);
            json.WriteString("controlling_country", tenant.ControllingCountry);
            json.WriteString("entity_type", tenant.EntityType.ToString().ToLowerInvariant());
            json.WriteString("tier", tenant.Tier.ToString().ToLowerInvariant());
            json.WriteBoolean("denied_party", tenant.IsDeniedParty);
            json.WriteString("model", request.Model);
            json.WriteBoolean("stream", request.Stream);
            json.WriteBoolean("logprobs", request.Logprobs);
            if (request.N is { } n)
            {
                json.WriteNumber("n", n);
            }
            if (request.MaxTokens is { } max)
            {
                json.WriteNumber("max_tokens", max);
            }
            json.WriteString("outcome", decision.Allowed ? "allow" : "deny");
            json.WriteString("reason", decision.ReasonCode);
            if (decision.RuleId is { } rule)
            {
                json.WriteString("rule", rule);
            }
            json.WriteStartArray("deployments");
            foreach (var deployment in decision.Deployments)
            {
                json.WriteStringValue($"{deployment.Id}@{deployment.Region}");
            }
            json.WriteEndArray();
            var restrictions = decision.Restrictions;
            if (!restrictions.IsNone)
            {
                json.WriteStartObject("restrictions");
                if (restrictions.MaxTokens is { } cap)
                {
                    json.WriteNumber("max_tokens", cap);
                }
                if (restrictions.N is { } maxN)
                {
                    json.WriteNumber("n", maxN);
                }
                json.WriteBoolean("strip_logprobs", restrictions.StripLogprobs);
                json.WriteEndObject();
            }
            json.WriteStartArray("trace");
            foreach (var step in decision.Trace)
            {
                json.WriteStartObject();
                json.WriteString("rule", step.RuleId);
                json.WriteString("outcome", step.Outcome.ToString());
                if (step.Regions is { } regions)
                {
                    json.WriteStartArray("regions");
                    foreach (var region in regions)
                    {
                        json.WriteStringValue(region);
                    }
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
        return new AuditEntry(time, AuditActors.Gateway, AuditActions.Decision, decisionId, details);
    }
}
