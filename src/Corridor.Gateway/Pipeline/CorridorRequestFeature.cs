using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Core.Metering;
using Corridor.Core.Policy;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// The typed per-request state every pipeline step reads and writes, kept on <c>HttpContext.Features</c>.
/// </summary>
internal sealed class CorridorRequestFeature(ActiveConfig config, string requestId, Dialect dialect, Operation operation, DateTimeOffset receivedAt, long startTimestamp, int retainChars)
{
    /// <summary>The configuration this request is served with from start to end, even if a reload happens meanwhile.</summary>
    public ActiveConfig Config { get; } = config;

    public string RequestId { get; } = requestId;

    public Dialect Dialect { get; } = dialect;

    public Operation Operation { get; } = operation;

    public DateTimeOffset ReceivedAt { get; } = receivedAt;

    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>Set by the pipeline for a request Corridor makes itself on a key's behalf (a batch's); null for a client's.</summary>
    public InProcessCaller? InProcess { get; set; }

    /// <summary>Whether the request is one of a batch's (<see cref="InProcessCaller.BatchId"/>): policy decides it as such.</summary>
    public bool Batch => InProcess is { BatchId: not null };

    /// <summary>Set by the front door once the body parsed.</summary>
    public ClientRequest? Request { get; set; }

    /// <summary>
    /// Set by the front door for an Anthropic client that sent <c>anthropic-beta</c>: the names of its betas, of which an
    /// Anthropic-kind upstream is sent those its vendor enables (<see cref="AnthropicBetas"/>); null otherwise.
    /// </summary>
    public string[]? AnthropicBetas { get; set; }

    /// <summary>
    /// Set by the front door for a Responses API request that continues a stored response: its body as sent, translated once
    /// that response's items are read (the pipeline's step 2b, <see cref="StoredResponses.ResponseKeeper.ContinueAsync"/>);
    /// <see cref="Request"/> is null until then. Null otherwise.
    /// </summary>
    public StoredResponses.ContinuedRequest? Continued { get; set; }

    /// <summary>Set by the front door for a Responses API request: what its answer needs of it (ids, echoed parameters).</summary>
    public ResponsesContext? Responses { get; set; }

    /// <summary>Set by authentication.</summary>
    public AuthenticatedKey? Caller { get; set; }

    /// <summary>
    /// Set by enforcement: the monitor's level for this caller and what it did. Admission multiplies the caller's limits by
    /// <see cref="RequestEnforcement.LimitFactor"/> (below 1 when throttled).
    /// </summary>
    public RequestEnforcement Enforcement { get; set; } = RequestEnforcement.None;

    /// <summary>
    /// Set by entitlement: the request as enforcement left it (the client's own, or as a throttle rewrote it), to which a
    /// decision's restrictions are applied. Shadow evaluation applies its candidate's decision to it, not the primary's.
    /// </summary>
    public ClientRequest? Enforced { get; set; }

    /// <summary>Set by entitlement: the model and the deployments this request may be routed to, in order.</summary>
    public ModelEntry? Model { get; set; }

    public IReadOnlyList<DeploymentEntry> AllowedDeployments { get; set; } = [];

    /// <summary>Set by entitlement when policy decided: the decision that governs the request, and its id (<c>x-corridor-decision</c>).</summary>
    public Decision? Decision { get; set; }

    public DecisionInput? DecisionInput { get; set; }

    public string? DecisionId { get; set; }

    /// <summary>
    /// Set by entitlement when the request names an alias and more than one of its models is allowed: each allowed model,
    /// in order, with its own decision and the request as restricted for it. The forwarder makes a model's entry current
    /// (<see cref="ServeWith"/>) before it tries one of that model's deployments, so a fallback is served, and audited,
    /// under the restrictions the policy sets for the model that serves it.
    /// </summary>
    public IReadOnlyList<ModelEntitlement> Entitlements { get; set; } = [];

    /// <summary>
    /// Makes the entitlement of <paramref name="deployment"/>'s model current (<see cref="Model"/>, <see cref="Decision"/>,
    /// <see cref="DecisionInput"/>, <see cref="Request"/>); nothing changes for a single model.
    /// </summary>
    public void ServeWith(DeploymentEntry deployment)
    {
        if (EntitlementFor(deployment) is { } entitlement)
        {
            Model = entitlement.Model;
            Decision = entitlement.Decision;
            DecisionInput = entitlement.Input;
            Request = entitlement.Request;
        }
    }

    /// <summary>
    /// The request as <paramref name="deployment"/> would be sent it (restricted for its model, for an alias), without making
    /// that model current: the forwarder builds the upstream's body from it before it decides to try the deployment.
    /// </summary>
    public ClientRequest? RequestFor(DeploymentEntry deployment) => EntitlementFor(deployment)?.Request ?? Request;

    /// <summary>The entitlement of <paramref name="deployment"/>'s model when it is not the current one; null otherwise.</summary>
    private ModelEntitlement? EntitlementFor(DeploymentEntry deployment)
    {
        if (Entitlements.Count == 0 || (Model is { } current && string.Equals(current.Id, deployment.Model.Id, StringComparison.Ordinal)))
        {
            return null;
        }
        foreach (var entitlement in Entitlements)
        {
            if (string.Equals(entitlement.Model.Id, deployment.Model.Id, StringComparison.Ordinal))
            {
                return entitlement;
            }
        }
        return null;
    }

    /// <summary>Returns the request's pooled buffers: the current request's and those restricted for an alias's other models.</summary>
    public void DisposeRequests()
    {
        Request?.Dispose();
        Continued?.Sent.Dispose();
        foreach (var entitlement in Entitlements)
        {
            entitlement.Request.Dispose();
        }
    }

    /// <summary>
    /// Set by admission: the reservation and stream slot this request holds until it is settled. A field, so admission
    /// and settlement work on it in place (it is settled exactly once and cleared).
    /// </summary>
#pragma warning disable CA1051 // a mutable struct settled in place; a property would hand out copies
    public AdmissionTicket Admission;
#pragma warning restore CA1051

    /// <summary>The deployment that answered (the last one tried when none did).</summary>
    public DeploymentEntry? Deployment { get; set; }

    public UsageMeter Usage { get; } = new(retainChars);

    /// <summary>When the first event of a streamed answer was relayed (a <see cref="TimeProvider"/> timestamp), for time to first token; 0 before.</summary>
    public long FirstEventTimestamp { get; set; }

    public int Status { get; set; }

    public RequestOutcome Outcome { get; set; } = RequestOutcome.Success;

    public string? ErrorCode { get; set; }

    /// <summary>True once the upstream answered successfully, so its tokens are billable.</summary>
    public bool Served { get; set; }

    public bool Estimated { get; set; }

    /// <summary>What the operator pays the vendor for this request.</summary>
    public decimal Cost { get; set; }

    /// <summary>What the tenant is billed for this request (the sell price).</summary>
    public decimal Revenue { get; set; }

    /// <summary>The response's final bytes, released by the pipeline once the ledger row is durable.</summary>
    public HeldResponse Held { get; } = new();
}

/// <summary>One allowed model of an alias: its decision, the input it was decided on, and the request as restricted for it.</summary>
internal sealed record ModelEntitlement(ModelEntry Model, Decision Decision, DecisionInput Input, ClientRequest Request);
