using System.Text.Json;
using Corridor.Gateway.StoredResponses;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.StoredResponses;

/// <summary>The input items a kept response lists: those of the response it continued, as read, then its own with ids.</summary>
public sealed class ResponseItemsTests
{
    [Fact]
    public void AKeptResponse_ListsTheItemsOfTheOneItContinued_AsRead_ThenItsOwn()
    {
        var responses = new ResponsesContext("resp_00ab", 1_700_000_000, "{}"u8.ToArray())
        {
            Input = """ "And 4472?" """u8.ToArray(),
            // As a store may give them back: spaced (PostgreSQL's jsonb), or empty.
            Earlier = [""" [ {"id": "msg_1_in0", "type": "message", "role": "user", "content": "Where?"} ] """, "[]",
                """[{"id":"msg_1_0","type":"message","role":"assistant","content":[{"type":"output_text","text":"Oslo.","annotations":[]}]}]"""],
        };

        var stored = ResponseItems.Stored(responses);

        using var items = JsonDocument.Parse(stored);
        Assert.Equal(["msg_1_in0", "msg_1_0", "msg_00ab_in0"], items.RootElement.EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("And 4472?", items.RootElement[2].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void ArraysJoined_AreOneArray_OfTheirElementsInOrder()
    {
        Assert.Equal("[]", ResponseItems.Join(["[]", " [ ] "]));
        Assert.Equal("""[1,{"a":[2]},3]""", ResponseItems.Join(["[1]", """[{"a":[2]}]""", "[]", "[3]"]));
    }
}
