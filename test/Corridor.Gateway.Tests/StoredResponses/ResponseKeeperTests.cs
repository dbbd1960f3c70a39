using System.Text;
using Corridor.Gateway.StoredResponses;

namespace Corridor.Gateway.Tests.StoredResponses;

/// <summary>An answer not kept says <c>store: false</c> in what is still held of it, and nowhere else.</summary>
public sealed class ResponseKeeperTests
{
    [Fact]
    public void AWholeAnswer_SaysStoreFalse_InItsResponseObjectOnly()
    {
        var held = """{"id":"resp_1","output":[],"store":true,"metadata":{"store":true},"tools":[{"parameters":{"store":true}}]}""";

        var rewritten = ResponseKeeper.StoreFalse(Encoding.UTF8.GetBytes(held));

        Assert.Equal("""{"id":"resp_1","output":[],"store":false,"metadata":{"store":true},"tools":[{"parameters":{"store":true}}]}""", Encoding.UTF8.GetString(rewritten!));
    }

    [Fact]
    public void AStreamsHeldEvents_SayStoreFalse_InTheResponseTheyCarry()
    {
        var held = "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"item\":{\"store\":true}}\n\n"
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"store\":true,\"metadata\":{\"store\":true}}}\n\n";

        var rewritten = ResponseKeeper.StoreFalse(Encoding.UTF8.GetBytes(held));

        Assert.Equal(held.Replace("\"id\":\"resp_1\",\"store\":true", "\"id\":\"resp_1\",\"store\":false", StringComparison.Ordinal), Encoding.UTF8.GetString(rewritten!));
    }

    [Fact]
    public void HeldBytesWithoutAStoredResponse_AreLeftAsTheyAre() =>
        Assert.Null(ResponseKeeper.StoreFalse("""{"error":{"message":"x","store":true}}"""u8));
}
