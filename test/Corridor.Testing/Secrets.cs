namespace Corridor.Testing;

public static class Secrets
{
    /// <summary>
    /// <paramref name="secret"/> with its last character changed to another one: a credential one character off, which
    /// must be refused. (Appending a fixed character instead gives back the secret itself whenever it already ends in it.)
    /// </summary>
    public static string OneCharacterOff(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        return secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a');
    }
}
