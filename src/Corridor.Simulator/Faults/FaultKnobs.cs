using System.Globalization;

namespace Corridor.Simulator.Faults;

/// <summary>
/// Faults asked for in the path prefix <c>/x/{knobs}/…</c>, e.g. <c>latency=50,status=503,rate429=0.5,disconnect=5,garbage=1,stall=3</c>,
/// so one gateway deployment can point at a faulty upstream while another points at a healthy one.
/// <c>stall</c>, <c>truncate</c> and <c>reset</c> count tokens in a stream and bytes of the body in a whole answer.
/// </summary>
internal readonly record struct FaultKnobs(
    TimeSpan Latency,
    int? Status,
    double RateLimitRate,
    double ErrorRate,
    int? DisconnectAfterTokens,
    bool Garbage,
    int? StallAfterTokens = null,
    int? TruncateAfter = null,
    int? ResetAfterBytes = null)
{
    public const string Help = "latency=MS, status=400..599, rate429=0..1, error=0..1, disconnect=TOKENS, garbage=0|1, stall=TOKENS|BYTES, truncate=TOKENS|BYTES, reset=BYTES";

    public static bool TryParse(string? text, out FaultKnobs knobs, out string? error)
    {
        knobs = default;
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        var span = text.AsSpan();
        foreach (var range in span.Split(','))
        {
            var item = span[range].Trim();
            if (item.IsEmpty)
            {
                continue;
            }

            var equals = item.IndexOf('=');
            var name = equals < 0 ? item : item[..equals];
            var value = equals < 0 ? "1" : item[(equals + 1)..];
            if (!TryApply(name, value, ref knobs))
            {
                error = $"Invalid simulator knob '{item}'. Knobs: {Help}.";
                return false;
            }
        }

        return true;
    }

    private static bool TryApply(ReadOnlySpan<char> name, ReadOnlySpan<char> value, ref FaultKnobs knobs)
    {
        var invariant = CultureInfo.InvariantCulture;
        switch (name)
        {
            case "latency" when int.TryParse(value, NumberStyles.None, invariant, out var ms):
                knobs = knobs with { Latency = TimeSpan.FromMilliseconds(ms) };
                return true;
            case "status" when int.TryParse(value, NumberStyles.None, invariant, out var status) && status is >= 400 and <= 599:
                knobs = knobs with { Status = status };
                return true;
            case "rate429" when TryParseRate(value, out var rate):
                knobs = knobs with { RateLimitRate = rate };
                return true;
            case "error" when TryParseRate(value, out var rate):
                knobs = knobs with { ErrorRate = rate };
                return true;
            case "disconnect" when int.TryParse(value, NumberStyles.None, invariant, out var tokens):
                knobs = knobs with { DisconnectAfterTokens = tokens };
                return true;
            case "stall" when int.TryParse(value, NumberStyles.None, invariant, out var tokens):
                knobs = knobs with { StallAfterTokens = tokens };
                return true;
            case "truncate" when int.TryParse(value, NumberStyles.None, invariant, out var count):
                knobs = knobs with { TruncateAfter = count };
                return true;
            case "reset" when int.TryParse(value, NumberStyles.None, invariant, out var bytes):
                knobs = knobs with { ResetAfterBytes = bytes };
                return true;
            case "garbage" when value is "0" or "1":
                knobs = knobs with { Garbage = value is "1" };
                return true;
            default:
                return false;
        }
    }

    private static bool TryParseRate(ReadOnlySpan<char> value, out double rate) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out rate) && rate is >= 0 and <= 1;
}
