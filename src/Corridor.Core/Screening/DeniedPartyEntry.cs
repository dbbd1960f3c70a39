namespace Corridor.Core.Screening;

/// <summary>
/// One party on the denied-party list: its name, other names it goes by, its country (ISO 3166-1 alpha-2, or null when the list
/// gives none) and the programme that lists it (<c>EXPORT-CONTROL</c>, <c>SANCTIONS-RU</c>, ...).
/// </summary>
public sealed record DeniedPartyEntry(string Name, IReadOnlyList<string> Aliases, string? Country, string Program)
{
    /// <summary>The name, then the aliases.</summary>
    public IEnumerable<string> Names => Aliases.Prepend(Name);
}
