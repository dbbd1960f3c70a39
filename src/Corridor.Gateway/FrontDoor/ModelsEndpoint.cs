using System.Text.Json;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary><c>GET /v1/models</c>: the models the calling tenant may use, in the dialect the client speaks.</summary>
internal sealed class ModelsEndpoint(Authenticator authenticator, GatewayState state, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var dialect = context.Request.Headers.ContainsKey("anthropic-version") ? Dialect.Anthropic : Dialect.OpenAI;
        var call = new CorridorRequestFeature(state.Active, "req_" + Guid.CreateVersion7().ToString("N"), dialect, Operation.Models, time.GetUtcNow(), time.GetTimestamp(), 0);
        context.Response.Headers["x-corridor-request-id"] = call.RequestId;
        context.Response.Headers["x-corridor-region"] = "none";
        if (authenticator.Authenticate(context, call) is { } error)
        {
            await RequestPipeline.WriteErrorAsync(context, dialect, error, call.RequestId);
            return;
        }
        context.Response.ContentType = "application/json";
        var models = Entitlement.EntitledModels(call, call.ReceivedAt).Select(m => (m.Id, Owner: m.Vendor.Id))
            .Concat(Entitlement.EntitledAliases(call, call.ReceivedAt).Select(alias => (Id: alias, Owner: "corridor")))
            .ToList();
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            if (dialect == Dialect.OpenAI)
            {
                json.WriteString("object", "list");
            }
            json.WriteStartArray("data");
            foreach (var model in models)
            {
                json.WriteStartObject();
                json.WriteString("id", model.Id);
                if (dialect == Dialect.Anthropic)
                {
                    json.WriteString("type", "model");
                    json.WriteString("display_name", model.Id);
                    json.WriteString("created_at", "2025-01-01T00:00:00Z");
                }
                else
                {
                    json.WriteString("object", "model");
                    json.WriteNumber("created", 1735689600);
                    json.WriteString("owned_by", model.Owner);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (dialect == Dialect.Anthropic)
            {
                json.WriteBoolean("has_more", false);
                WriteIdOrNull(json, "first_id", models.Count > 0 ? models[0].Id : null);
                WriteIdOrNull(json, "last_id", models.Count > 0 ? models[^1].Id : null);
            }
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteIdOrNull(Utf8JsonWriter json, string name, string? id)
    {
        if (id is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, id);
        }
    }
}
