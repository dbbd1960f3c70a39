using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Core.Catalog;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// The terms a deployment's upstream serves every request on, where a request body can change them: the vendor's service
/// tier (<c>service_tier</c>: OpenAI's <c>flex</c> at half the price, <c>priority</c> at about twice; Anthropic's
/// <c>auto</c>, which spends the account's Priority Tier capacity), where Anthropic runs the inference
/// (<c>inference_geo</c>) and Anthropic's fast mode (<c>speed</c>, at a multiple of the price). They are the operator's:
/// the deployment's price states what its vendor charges and its region where it serves, and policy decides who is served
/// from where. So a client's own are taken out of the body, whatever the dialects, and the deployment's
/// (<see cref="DeploymentConfig.ServiceTier"/>, <see cref="DeploymentConfig.InferenceGeo"/>) put in; a body with neither goes
/// as it is (docs/forwarding.md).
/// </summary>
internal sealed class UpstreamTerms
{
    /// <summary>A deployment that sets no terms: a client's are still taken out.</summary>
    public static readonly UpstreamTerms None = new(null, null);

    // The deployment's terms as JSON properties, joined with commas: what goes first in every body.
    private readonly byte[] _properties;

    private UpstreamTerms(string? serviceTier, string? inferenceGeo)
    {
        var properties = new List<string>(2);
        if (serviceTier is not null)
        {
            properties.Add($"\"service_tier\":{JsonSerializer.Serialize(serviceTier)}");
        }
        if (inferenceGeo is not null)
        {
            properties.Add($"\"inference_geo\":{JsonSerializer.Serialize(inferenceGeo)}");
        }
        _properties = Encoding.UTF8.GetBytes(string.Join(',', properties));
    }

    public static UpstreamTerms Of(DeploymentConfig deployment) =>
        deployment.ServiceTier is null && deployment.InferenceGeo is null ? None : new(deployment.ServiceTier, deployment.InferenceGeo);

    /// <summary>Whether a body the client sent (<paramref name="clientSetsTerms"/>: <see cref="ClientRequest.SetsTerms"/>) must be rewritten.</summary>
    public bool Rewrites(bool clientSetsTerms) => clientSetsTerms || _properties.Length > 0;

    /// <summary>
    /// <paramref name="body"/> (a JSON object the front door accepted, or one Corridor made of it) without any
    /// <c>service_tier</c>, <c>inference_geo</c> or <c>speed</c>, its names read as every parser reads them, and with this
    /// deployment's terms first; every other property as it was written.
    /// </summary>
    public byte[] Apply(ReadOnlySpan<byte> body)
    {
        var output = new ArrayBufferWriter<byte>(body.Length + _properties.Length + 2);
        output.Write("{"u8);
        output.Write(_properties);
        var first = _properties.Length == 0;
        Span<byte> unescaped = stackalloc byte[RequestParser.MaxEscapedName];
        var properties = new ObjectProperties(body, unescaped);
        while (properties.MoveNext())
        {
            if (RequestParser.FieldOf(properties.Name) is RequestParser.Field.ServiceTier or RequestParser.Field.InferenceGeo or RequestParser.Field.Speed)
            {
                continue;
            }
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            output.Write(body[properties.Start..properties.End]);
        }
        output.Write("}"u8);
        return output.WrittenSpan.ToArray();
    }
}
