namespace Corridor.Gateway.Translation;

/// <summary>Why a body could not be translated: a client-facing message and the offending parameter, if one.</summary>
internal readonly record struct Problem(string Message, string? Param = null)
{
    public static Problem InvalidJson(string what) => new($"The {what} is not valid JSON.");

    public static Problem InvalidText(string what) => new($"The {what} contains a string that is not valid Unicode text.");

    public static Problem WrongType(string param, string expected) => new($"'{param}' must be {expected}.", param);

    public static Problem Missing(string param) => new($"'{param}' is required.", param);

    public static Problem Unsupported(string param, string what) =>
        new($"{what} is not supported for this model: its upstream cannot express it.", param);
}
