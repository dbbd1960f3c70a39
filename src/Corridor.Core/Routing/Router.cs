using Corridor.Core.Catalog;

namespace Corridor.Core.Routing;

/// <summary>
/// Orders the deployments a Decision allowed. It only ever reorders that list — never adds to it — so routing
/// and every fallback stay inside what policy allows. Deployments whose breaker is open go last.
/// </summary>
public static class Router
{
    public static DeploymentEntry[] Order(
        IReadOnlyList<DeploymentEntry> allowed,
        ModelRouting routing,
        Func<DeploymentEntry, DeploymentHealth> health,
        DateTimeOffset now,
        Random random)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        ArgumentNullException.ThrowIfNull(routing);
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(random);
        var ordered = new DeploymentEntry[allowed.Count];
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i] = allowed[i];
        }
        switch (routing.Strategy)
        {
            case RoutingStrategy.LowestCost:
                StableSort(ordered, d => (double)(d.Config.InputPricePerMillion + d.Config.OutputPricePerMillion));
                break;
            case RoutingStrategy.LowestLatency:
                StableSort(ordered, d => health(d).RoutingLatencyMs(now));
                break;
            case RoutingStrategy.Weighted:
                // Drawn among the deployments that can take the request: a draw landing on an open breaker would hand its
                // share to whichever comes first in priority order, a drained one (weight 0) included.
                var open = OpenLast(ordered, health, now);
                MoveWeightedChoiceFirst(ordered.AsSpan(0, ordered.Length - open), routing.Weights, random);
                return ordered;
        }
        OpenLast(ordered, health, now);
        return ordered;
    }

    /// <summary>Puts open breakers last, keeping the order within each group; returns how many are open.</summary>
    private static int OpenLast(DeploymentEntry[] items, Func<DeploymentEntry, DeploymentHealth> health, DateTimeOffset now)
    {
        var open = 0;
        StableSort(items, d =>
        {
            if (health(d).IsOpen(now))
            {
                open++;
                return 1;
            }
            return 0;
        });
        return open;
    }

    private static void StableSort(DeploymentEntry[] items, Func<DeploymentEntry, double> key)
    {
        var keyed = new (double Key, int Index, DeploymentEntry Item)[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            keyed[i] = (key(items[i]), i, items[i]);
        }
        Array.Sort(keyed, static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Index.CompareTo(b.Index));
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = keyed[i].Item;
        }
    }

    private static void MoveWeightedChoiceFirst(Span<DeploymentEntry> items, IReadOnlyDictionary<string, int>? weights, Random random)
    {
        var total = 0L;
        foreach (var item in items)
        {
            total += Weight(item, weights);
        }
        if (total <= 0)
        {
            return;
        }
        var draw = random.NextInt64(total);
        for (var i = 0; i < items.Length; i++)
        {
            draw -= Weight(items[i], weights);
            if (draw < 0)
            {
                var chosen = items[i];
                items[..i].CopyTo(items[1..]);
                items[0] = chosen;
                return;
            }
        }
    }

    private static int Weight(DeploymentEntry item, IReadOnlyDictionary<string, int>? weights) =>
        weights is not null && weights.TryGetValue(item.Id, out var weight) ? weight : 1;
}
