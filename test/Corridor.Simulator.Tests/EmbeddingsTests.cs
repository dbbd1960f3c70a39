using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Corridor.Simulator.Tests;

public sealed class EmbeddingsTests
{
    [Fact]
    public async Task Embedding_IsADeterministicUnitVector_Of256DimensionsByDefault()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Body = """{"model":"text-embedding-3-small","input":"The quick brown fox"}""";

        var first = (await sim.PostAsync("/v1/embeddings", Body)).Json;
        var again = (await sim.PostAsync("/v1/embeddings", Body)).Json;

        Assert.Equal("list", first.GetProperty("object").GetString());
        Assert.Equal("text-embedding-3-small", first.GetProperty("model").GetString());
        var item = Assert.Single(first.GetProperty("data").EnumerateArray());
        Assert.Equal("embedding", item.GetProperty("object").GetString());
        Assert.Equal(0, item.GetProperty("index").GetInt32());
        var vector = Vector(item);
        Assert.Equal(256, vector.Length);
        Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => (double)v * v)), 4);
        Assert.Equal(vector, Vector(again.GetProperty("data")[0]));
        Assert.Equal(5, first.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(5, first.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task ArrayInput_GetsOneVectorEach_InOrder_AndDimensionsAreHonoured()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/embeddings", """{"model":"m","input":["alpha","beta","alpha"],"dimensions":32,"encoding_format":"float"}""")).Json;

        var items = json.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], items.Select(i => i.GetProperty("index").GetInt32()));
        var vectors = items.Select(Vector).ToList();
        Assert.All(vectors, v => Assert.Equal(32, v.Length));
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal(2 + 1 + 2, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Base64Encoding_CarriesTheSameFloats()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var floats = (await sim.PostAsync("/v1/embeddings", """{"model":"m","input":"x","dimensions":8}""")).Json;
        var base64 = (await sim.PostAsync("/v1/embeddings", """{"model":"m","input":"x","dimensions":8,"encoding_format":"base64"}""")).Json;

        var decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(base64.GetProperty("data")[0].GetProperty("embedding").GetString()!)).ToArray();
        Assert.Equal(Vector(floats.GetProperty("data")[0]), decoded);
    }

    [Fact]
    public async Task TokenArrayInput_IsAccepted()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/embeddings", """{"model":"m","input":[[1,2,3],[4,5]],"dimensions":4}""")).Json;

        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.Equal(5, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"model":"m","input":""}""", "input")]
    [InlineData("""{"model":"m","input":[]}""", "input")]
    [InlineData("""{"model":"m"}""", "input")]
    [InlineData("""{"input":"x"}""", "model")]
    [InlineData("""{"model":"m","input":"x","dimensions":0}""", "dimensions")]
    [InlineData("""{"model":"m","input":"x","encoding_format":"int8"}""", "encoding_format")]
    public async Task InvalidRequest_IsA400_NamingTheParam(string body, string param)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/embeddings", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_request_error", response.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(param, response.Json.GetProperty("error").GetProperty("param").GetString());
    }

    private static float[] Vector(JsonElement item) =>
        item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
}
