using Corridor.Storage.Responses;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Contract;

/// <summary>Stored Responses API answers, for every store (see <see cref="StoreContractTests"/>).</summary>
public abstract class ResponseStoreContractTests : StoreContract
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private static StoredResponse Response(string id, string tenant = "acme", int day = 0) =>
        new(id, tenant, "key_1", "gpt-4.1", "completed", T0.AddDays(day), T0.AddDays(day + 30))
        {
            Instructions = "Be brief.",
            InputItems = """[{"id":"msg_1","type":"message","role":"user","content":[{"type":"input_text","text":"Where is parcel 4471?"}]}]""",
            OutputItems = """[{"id":"msg_2","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"In Oslo.","annotations":[],"logprobs":[]}]}]""",
            InputTokens = 12,
            OutputTokens = 3,
            Body = $$"""{"id":"{{id}}","object":"response","status":"completed","output":[]}""",
        };

    [Fact]
    public async Task AResponse_IsReadAsKept_OnlyByItsTenant_AndDeletedOnce()
    {
        var kept = Response("resp_1");
        await Store.AddResponseAsync(kept, None).WithTimeout();
        await Store.AddResponseAsync(Response("resp_2", tenant: "other"), None).WithTimeout();

        Assert.Equal(kept, await Store.GetResponseAsync("acme", "resp_1", T0, None).WithTimeout());
        Assert.Null(await Store.GetResponseAsync("other", "resp_1", T0, None).WithTimeout());
        Assert.Null(await Store.GetResponseAsync("acme", "resp_2", T0, None).WithTimeout());
        Assert.Null(await Store.GetResponseAsync("acme", "resp_none", T0, None).WithTimeout());
        // Without instructions, and text that is not ASCII, as kept.
        var plain = Response("resp_3") with { Instructions = null, InputItems = """[{"type":"message","role":"user","content":"Grüße, 包裹"}]""" };
        await Store.AddResponseAsync(plain, None).WithTimeout();
        Assert.Equal(plain, await Store.GetResponseAsync("acme", "resp_3", T0, None).WithTimeout());

        Assert.False(await Store.DeleteResponseAsync("other", "resp_1", T0, None).WithTimeout());
        Assert.True(await Store.DeleteResponseAsync("acme", "resp_1", T0, None).WithTimeout());
        Assert.False(await Store.DeleteResponseAsync("acme", "resp_1", T0, None).WithTimeout());
        Assert.Null(await Store.GetResponseAsync("acme", "resp_1", T0, None).WithTimeout());
        Assert.NotNull(await Store.GetResponseAsync("other", "resp_2", T0, None).WithTimeout());
    }

    [Fact]
    public async Task ATenantsStoredBytes_AreThoseOfItsResponsesNotExpiredNorDeleted()
    {
        var first = Response("resp_1", day: 0);
        var second = Response("resp_2", day: 5) with { InputItems = """[{"type":"message","role":"user","content":"Grüße, 包裹"}]""" };
        await Store.AddResponseAsync(first, None).WithTimeout();
        await Store.AddResponseAsync(second, None).WithTimeout();
        await Store.AddResponseAsync(Response("resp_3", tenant: "other"), None).WithTimeout();

        // In UTF-8 bytes: the instructions, the items and the response object.
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(second.Instructions + second.InputItems + second.OutputItems + second.Body), second.Bytes);
        Assert.Equal(first.Bytes + second.Bytes, await Store.GetStoredResponseBytesAsync("acme", T0, None).WithTimeout());
        Assert.Equal(second.Bytes, await Store.GetStoredResponseBytesAsync("acme", T0.AddDays(30), None).WithTimeout());
        Assert.True(await Store.DeleteResponseAsync("acme", "resp_2", T0, None).WithTimeout());
        Assert.Equal(first.Bytes, await Store.GetStoredResponseBytesAsync("acme", T0, None).WithTimeout());
        Assert.Equal(0, await Store.GetStoredResponseBytesAsync("nobody", T0, None).WithTimeout());
    }

    [Fact]
    public async Task AnExpiredResponse_IsNotFound_NorDeleted_AndTheSweepRemovesIt()
    {
        await Store.AddResponseAsync(Response("resp_old", day: 0), None).WithTimeout();
        await Store.AddResponseAsync(Response("resp_new", day: 5), None).WithTimeout();
        var expiry = T0.AddDays(30);

        Assert.NotNull(await Store.GetResponseAsync("acme", "resp_old", expiry.AddMilliseconds(-1), None).WithTimeout());
        Assert.Null(await Store.GetResponseAsync("acme", "resp_old", expiry, None).WithTimeout());
        Assert.False(await Store.DeleteResponseAsync("acme", "resp_old", expiry, None).WithTimeout());
        Assert.Equal(1L, Convert.ToInt64(await Backend.ScalarAsync("SELECT count(*) FROM responses WHERE id = 'resp_old'"), System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(1, await Store.RemoveExpiredResponsesAsync(expiry, None).WithTimeout());
        Assert.Equal(0, await Store.RemoveExpiredResponsesAsync(expiry, None).WithTimeout());
        Assert.Equal(0L, Convert.ToInt64(await Backend.ScalarAsync("SELECT count(*) FROM responses WHERE id = 'resp_old'"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotNull(await Store.GetResponseAsync("acme", "resp_new", expiry, None).WithTimeout());
    }
}
