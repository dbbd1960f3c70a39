using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Core.Catalog;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// The terms a deployment's upstream serves every request on, where a request body can change them: the vendor's service
/// tier (<c>service_tier</c>: OpenAI's <c>flex</c> at half the price, <c>priority</c> at about twice; Anthropic's
/// <c>auto</c>, which spends the account's Priority Tier capacity), where Anthropic runs the inference
/// (<c>inference_geo</c>) and Anthropic's fast mode (<c>speed</c>, at a multiple of the price). They are the operator's:
/// the deployment's price states what its vendor charges and its region where it serves, and policy decides who is served
/// from where. So a client's own are taken out of the body, whatever the dialects, and the deployment's
/// (<see cref="DeploymentConfig.ServiceTier"/>, <see cref="DeploymentConfig.InferenceGeo"/>) put in. And, where the vendor
/// says so (<see cref="VendorConfig.EndUserId"/>), who the request is for: the tenant (or its key) in place of the
/// client's own end-user id. A body with none of these, to a deployment that sets none, goes as it is (docs/forwarding.md).
/// </summary>
internal sealed class UpstreamTerms
{
    /// <summary>A deployment that sets no terms: a client's are still taken out.</summary>
    public static readonly UpstreamTerms None = new(null, null, EndUserId.Client, EndUserField.User);

    // The deployment's terms as JSON properties, joined with commas: what goes first in every body.
    private readonly byte[] _properties;
    private readonly EndUserId _endUser;
    private readonly EndUserField _field;

    private UpstreamTerms(string? serviceTier, string? inferenceGeo, EndUserId endUser, EndUserField field)
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
        _endUser = endUser;
        _field = field;
    }

    /// <summary>Where an upstream reads the end user: Anthropic's <c>metadata.user_id</c>, OpenAI's <c>safety_identifier</c>, other OpenAI-kind servers' <c>user</c>.</summary>
    private enum EndUserField
    {
        User,
        SafetyIdentifier,
        Metadata,
    }

    public static UpstreamTerms Of(DeploymentEntry deployment)
    {
        var (config, vendor) = (deployment.Config, deployment.Vendor);
        if (config.ServiceTier is null && config.InferenceGeo is null && vendor.EndUserId == EndUserId.Client)
        {
            return None;
        }
        var field = vendor.Kind switch
        {
            VendorKind.Anthropic => EndUserField.Metadata,
            VendorKind.OpenAI when !deployment.IsOpenAICompatibleServer => EndUserField.SafetyIdentifier,
            _ => EndUserField.User,
        };
        return new(config.ServiceTier, config.InferenceGeo, vendor.EndUserId, field);
    }

    /// <summary>Whether a body the client sent (<paramref name="clientSetsTerms"/>: <see cref="ClientRequest.SetsTerms"/>) must be rewritten.</summary>
    public bool Rewrites(bool clientSetsTerms) => clientSetsTerms || _properties.Length > 0 || _endUser != EndUserId.Client;

    /// <summary>
    /// <paramref name="body"/> (a JSON object the front door accepted, or one Corridor made of it) without any
    /// <c>service_tier</c>, <c>inference_geo</c> or <c>speed</c>, its names read as every parser reads them, and with this
    /// deployment's terms first; where the vendor is told the tenant, without the client's end-user id and with
    /// <paramref name="caller"/>'s (a request of no caller, none), where a request of <paramref name="operation"/> reads it; every
    /// other property as it was written.
    /// </summary>
    public byte[] Apply(ReadOnlySpan<byte> body, AuthenticatedKey? caller, Operation operation)
    {
        var output = new ArrayBufferWriter<byte>(body.Length + _properties.Length + 64);
        output.Write("{"u8);
        output.Write(_properties);
        var first = _properties.Length == 0;
        if (EndUser(caller) is { } endUser)
        {
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            var value = JsonSerializer.Serialize(endUser);
            // OpenAI's embeddings take the end user as user only.
            output.Write(Encoding.UTF8.GetBytes(_field switch
            {
                EndUserField.Metadata => $"\"metadata\":{{\"user_id\":{value}}}",
                EndUserField.SafetyIdentifier when operation != Operation.Embeddings => $"\"safety_identifier\":{value}",
                _ => $"\"user\":{value}",
            }));
        }
        Span<byte> unescaped = stackalloc byte[RequestParser.MaxEscapedName];
        var properties = new ObjectProperties(body, unescaped);
        while (properties.MoveNext())
        {
            if (LeavesOut(RequestParser.FieldOf(properties.Name)))
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

    private bool LeavesOut(RequestParser.Field field) => field switch
    {
        RequestParser.Field.ServiceTier or RequestParser.Field.InferenceGeo or RequestParser.Field.Speed => true,
        RequestParser.Field.User or RequestParser.Field.SafetyIdentifier => _endUser != EndUserId.Client,
        // OpenAI's own metadata (stored completions' tags) says nothing of the end user: only Anthropic's is taken out.
        RequestParser.Field.Metadata => _endUser != EndUserId.Client && _field == EndUserField.Metadata,
        _ => false,
    };

    private string? EndUser(AuthenticatedKey? caller) => (_endUser, caller) switch
    {
        (EndUserId.Tenant, { } key) => key.Tenant.Id,
        (EndUserId.Key, { } key) => $"{key.Tenant.Id}/{key.Key.Id}",
        _ => null,
    };
}
