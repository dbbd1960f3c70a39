using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>Operators alert on log event ids (docs/observability.md): each id names one event across the gateway's assemblies.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogEvent_HasAnIdOfItsOwn()
    {
        var assemblies = new[] { typeof(GatewayHost).Assembly, typeof(Storage.ICorridorStore).Assembly, typeof(Monitor.DistillationMonitor).Assembly };
        var events = assemblies
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(method => (Method: $"{method.DeclaringType!.Name}.{method.Name}", Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();

        Assert.NotEmpty(events);
        var shared = events.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}").ToList();
        Assert.Empty(shared);
    }
}
