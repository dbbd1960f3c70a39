namespace Corridor.Monitor.Scoring;

/// <summary>The monitor's enforcement levels, in order. The gateway decides what each one does.</summary>
public enum EnforcementLevel : byte
{
    None = 0,

    /// <summary>Recorded only.</summary>
    Watch = 1,

    /// <summary>A case is opened for an analyst.</summary>
    Flag = 2,

    /// <summary>Limits lowered and harvest-friendly features stripped, as the operator configures.</summary>
    Throttle = 3,

    /// <summary>Requests refused.</summary>
    Suspend = 4,
}

public static class EnforcementLevels
{
    /// <summary>The level's name in reports and logs: none, watch, flag, throttle, suspend.</summary>
    public static string Name(this EnforcementLevel level) => level switch
    {
        EnforcementLevel.Watch => "watch",
        EnforcementLevel.Flag => "flag",
        EnforcementLevel.Throttle => "throttle",
        EnforcementLevel.Suspend => "suspend",
        _ => "none",
    };

    public static bool TryParse(string? text, out EnforcementLevel level)
    {
        level = text?.Trim().ToLowerInvariant() switch
        {
            "none" => EnforcementLevel.None,
            "watch" => EnforcementLevel.Watch,
            "flag" => EnforcementLevel.Flag,
            "throttle" => EnforcementLevel.Throttle,
            "suspend" => EnforcementLevel.Suspend,
            _ => (EnforcementLevel)255,
        };
        return (byte)level != 255;
    }
}

/// <summary>What a subject is: an API key, a tenant, or a cluster of keys and tenants acting in concert.</summary>
public enum SubjectKind : byte
{
    Key,
    Tenant,
    Cluster,
}

/// <summary>A subject's identity: its kind and id (a key id, a tenant id, or a cluster id such as <c>cl-3</c>).</summary>
public readonly record struct SubjectRef(SubjectKind Kind, string Id)
{
    public static SubjectRef Key(string id) => new(SubjectKind.Key, id);

    public static SubjectRef Tenant(string id) => new(SubjectKind.Tenant, id);

    public static SubjectRef Cluster(string id) => new(SubjectKind.Cluster, id);

    public string KindName => Kind switch
    {
        SubjectKind.Key => "key",
        SubjectKind.Tenant => "tenant",
        _ => "cluster",
    };

    public override string ToString() => $"{KindName}:{Id}";

    /// <summary>Reads <c>key:ID</c>, <c>tenant:ID</c> or <c>cluster:ID</c>.</summary>
    public static bool TryParse(string? text, out SubjectRef subject)
    {
        subject = default;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon < 1 || colon == text!.Length - 1)
        {
            return false;
        }

        SubjectKind? kind = text[..colon] switch
        {
            "key" => SubjectKind.Key,
            "tenant" => SubjectKind.Tenant,
            "cluster" => SubjectKind.Cluster,
            _ => null,
        };
        if (kind is null)
        {
            return false;
        }

        subject = new SubjectRef(kind.Value, text[(colon + 1)..].Trim());
        return subject.Id.Length > 0;
    }
}
