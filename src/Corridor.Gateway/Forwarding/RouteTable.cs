using System.Collections.Concurrent;
using Corridor.Core.Catalog;
using Corridor.Core.Routing;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// The gateway's routing state: each deployment's observed health, the shared retry budget, and the routing
/// configuration. Orders a request's allowed deployments model by model (an alias keeps its models' order).
/// </summary>
internal sealed class RouteTable(RoutingConfig routing, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DeploymentHealth> _health = new(StringComparer.Ordinal);

    public RetryBudget RetryBudget { get; } = new(routing.RetryBudgetRatio);

    public DeploymentHealth Health(DeploymentEntry deployment) =>
        _health.GetOrAdd(deployment.Id, static (_, r) => new DeploymentHealth(r.BreakerFailureThreshold, r.EffectiveBreakerOpenFor), routing);

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
}
