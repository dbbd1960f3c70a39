using Corridor.Core.Audit;

namespace Corridor.Core.Policy;

/// <summary>
/// A decision still to be written to the audit log. Its rule trace and details are worked out by <see cref="ToEntry"/>,
/// by whoever writes the log and off the request path, by deciding the same input again: the engine is a pure function
/// of the input and the compiled policy, both immutable, so the record is the one the request was decided by. Its time is
/// the decision's (<see cref="DecisionInput.Time"/>), not when the record was queued or written: a request is recorded
/// when it ends, which for a long stream is minutes after it was decided.
/// </summary>
public sealed record DecisionToAudit(string DecisionId, string RequestId, DecisionInput Input, CompiledPolicy Policy)
{
    /// <summary>When the request was decided.</summary>
    public DateTimeOffset Time => Input.Time;

    public AuditEntry ToEntry()
    {
        var input = Input;
        return DecisionAudit.Entry(DecisionId, RequestId, input, Policy.Decide(in input, trace: true), Time, Policy.Reasons(input.Request));
    }
}

/// <summary>The audit record of one decision: its input, outcome, the serving options it allowed and the rule trace.</summary>
public static class DecisionAudit
{
    /// <summary>
    /// The record. <paramref name="reasons"/>: whether the request reasons on its model, which the decision judged
    /// (<see cref="RequestFeatures.ReasonsOn"/>: what it asked for, or, on a model that reasons by default, that it did not
    /// turn thinking off).
    /// </summary>
    public static AuditEntry Entry(string decisionId, string requestId, DecisionInput input, Decision decision, DateTimeOffset time, bool reasons)
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
            json.WriteString("entity_type", Lower(tenant.EntityType));
            json.WriteString("tier", Lower(tenant.Tier));
            json.WriteBoolean("denied_party", tenant.IsDeniedParty);
            json.WriteString("model", request.Model);
            json.WriteBoolean("stream", request.Stream);
            json.WriteBoolean("logprobs", request.Logprobs);
            json.WriteBoolean("reasoning", reasons);
            if (request.ThinkingOff)
            {
                json.WriteBoolean("thinking_off", true);
            }
            if (request.Batch)
            {
                json.WriteBoolean("batch", true);
            }
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
                WriteDeployment(json, deployment.Id, deployment.Region);
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
                json.WriteBoolean("strip_reasoning", restrictions.StripReasoning);
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

    /// <summary><c>id@region</c>, put together on the stack when short (every decided request writes one per deployment).</summary>
    private static void WriteDeployment(System.Text.Json.Utf8JsonWriter json, string id, string region)
    {
        var length = id.Length + 1 + region.Length;
        if (length > 256)
        {
            json.WriteStringValue($"{id}@{region}");
            return;
        }
        Span<char> text = stackalloc char[length];
        id.CopyTo(text);
        text[id.Length] = '@';
        region.CopyTo(text[(id.Length + 1)..]);
        json.WriteStringValue(text);
    }

    /// <summary>An enum value's name in lower case, worked out once a value.</summary>
    private static string Lower<T>(T value)
        where T : struct, Enum => LowerNames<T>.Of(value);

    private static class LowerNames<T>
        where T : struct, Enum
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<T, string> Names = new();

        public static string Of(T value) => Names.GetOrAdd(value, static v => v.ToString().ToLowerInvariant());
    }
}
