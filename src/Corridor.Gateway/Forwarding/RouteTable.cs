using System.Collections.Concurrent;
using Corridor.Core.Catalog;
using Corridor.Core.Routing;
using Corridor.Gateway.Configuration;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// The gateway's routing state: each deployment's observed health, the shared retry budget, and the routing
/// configuration. Orders a request's allowed deployments model by model (an alias keeps its models' order).
/// Health and the retry budget outlive a reload; their settings (<c>routing.breaker</c>, <c>routing.retryBudget</c>)
/// follow the active configuration.
/// </summary>
internal sealed class RouteTable(GatewayState state, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DeploymentHealth> _health = new(StringComparer.Ordinal);
    private readonly RetryBudget _retryBudget = new(state.Active.Config.Routing.RetryBudgetRatio);
    private readonly Lock _gate = new();
    private RoutingConfig _applied = state.Active.Config.Routing;

    public RetryBudget RetryBudget
    {
        get
        {
            Apply();
            return _retryBudget;
        }
    }

    public DeploymentHealth Health(DeploymentEntry deployment)
    {
        var routing = Apply();
        return _health.GetOrAdd(deployment.Id, static (_, r) => new DeploymentHealth(r.BreakerFailureThreshold, r.EffectiveBreakerOpenFor), routing);
    }

    /// <summary>Every deployment of the active catalog with what has been observed of it (unobserved: closed, not measured).</summary>
    public IEnumerable<(DeploymentEntry Deployment, DeploymentCondition Condition)> Conditions()
    {
        var now = time.GetUtcNow();
        foreach (var model in state.Active.Catalog.Models)
        {
            foreach (var deployment in model.Deployments)
            {
                yield return (deployment, _health.TryGetValue(deployment.Id, out var health) ? health.Condition(now) : DeploymentCondition.Unobserved);
            }
        }
    }

    public IReadOnlyList<DeploymentEntry> Order(IReadOnlyList<DeploymentEntry> allowed, RoutingConfig current)
    {
        var now = time.GetUtcNow();
        if (allowed.Count <= 1)
        {
            return allowed;
        }
        Func<DeploymentEntry, DeploymentHealth> healthOf = Health;
        var ordered = new List<DeploymentEntry>(allowed.Count);
        var start = 0;
        while (start < allowed.Count)
        {
            var model = allowed[start].Model.Id;
            var end = start;
            while (end < allowed.Count && allowed[end].Model.Id == model)
            {
                end++;
            }
            var group = new DeploymentEntry[end - start];
            for (var i = start; i < end; i++)
            {
                group[i - start] = allowed[i];
            }
            ordered.AddRange(Router.Order(group, current.For(model), healthOf, now, Random.Shared));
            start = end;
        }
        return ordered;
    }

    /// <summary>
    /// Brings the breakers and the retry budget to the active configuration's settings once it was reloaded. Taken from
    /// the gateway's state, not from a request's configuration: a request still served with the one before must not
    /// put its settings back.
    /// </summary>
    private RoutingConfig Apply()
    {
        var routing = state.Active.Config.Routing;
        if (ReferenceEquals(routing, Volatile.Read(ref _applied)))
        {
            return routing;
        }
        using (_gate.EnterScope())
        {
            routing = state.Active.Config.Routing;
            if (!ReferenceEquals(routing, _applied))
            {
                _retryBudget.SetRatio(routing.RetryBudgetRatio);
                foreach (var health in _health.Values)
                {
                    health.Configure(routing.BreakerFailureThreshold, routing.EffectiveBreakerOpenFor);
                }
                Volatile.Write(ref _applied, routing);
            }
        }
        return routing;
    }
}
