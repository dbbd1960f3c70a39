using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Gateway.Forwarding;

namespace Corridor.Gateway.Configuration;

/// <summary>The configuration the gateway serves with, compiled; replaced whole when a reload succeeds.</summary>
/// <remarks>Without a <c>policy:</c> section every tenant may use every model; with one, policy decides (deny by default).</remarks>
internal sealed record ActiveConfig(CorridorConfig Config, Catalog Catalog, CompiledPolicy? Policy, UpstreamTargets Upstreams, DateTimeOffset LoadedAt)
{
    /// <summary>What each model name a request may give (a model's id, an alias) resolves to.</summary>
    public ModelChoices Models { get; } = new(Catalog, Config.Routing.Aliases);

    /// <summary>Compiles a loaded configuration; null with every error when it cannot be served.</summary>
    public static ActiveConfig? TryCreate(CorridorConfig config, Func<string, string?> environment, DateTimeOffset now, out IReadOnlyList<string> errors)
    {
        var catalog = Catalog.TryCreate(config.Catalog, out var catalogErrors);
        if (catalog is null)
        {
            errors = catalogErrors;
            return null;
        }
        var missing = UpstreamTargets.CredentialErrors(catalog, environment).ToList();
        if (missing.Count > 0)
        {
            errors = missing;
            return null;
        }
        CompiledPolicy? policy = null;
        if (config.Policy is { } loaded)
        {
            policy = CompiledPolicy.TryCreate(loaded, catalog, out var policyErrors);
            if (policy is null)
            {
                errors = policyErrors;
                return null;
            }
        }
        errors = [];
        return new ActiveConfig(config, catalog, policy, new UpstreamTargets(catalog, environment), now);
    }
}

/// <summary>The outcome of the last reload, for the log and the health endpoint.</summary>
internal sealed record ReloadStatus(DateTimeOffset At, bool Succeeded, IReadOnlyList<string> Errors);

/// <summary>
/// Holds the active configuration. A reload that fails leaves the last good configuration serving and
/// is reported, with its errors, until a later reload succeeds.
/// </summary>
internal sealed class GatewayState(ActiveConfig initial)
{
    private ActiveConfig _active = initial;
    private ReloadStatus? _lastReload;

    public ActiveConfig Active => Volatile.Read(ref _active);

    public ReloadStatus? LastReload => Volatile.Read(ref _lastReload);

    public ReloadStatus Reload(ConfigLoadResult loaded, Func<string, string?> environment, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        IReadOnlyList<string> errors = loaded.Errors;
        if (loaded.Config is { } config && ActiveConfig.TryCreate(config, environment, now, out errors) is { } next)
        {
            Volatile.Write(ref _active, next);
        }
        var status = new ReloadStatus(now, errors.Count == 0 && loaded.Config is not null, errors);
        Volatile.Write(ref _lastReload, status);
        return status;
    }
}
