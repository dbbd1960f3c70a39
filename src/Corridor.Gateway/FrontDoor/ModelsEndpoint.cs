using System.Text.Json;
using Corridor.Core.Catalog;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the models (and aliases) the calling tenant may use, in the
/// dialect the client speaks. A model the tenant may not use is not found, as in the list.
/// </summary>
internal sealed class ModelsEndpoint(Authenticator authenticator, GatewayState state, TimeProvider time)
{
    private const string CreatedAt = "2025-01-01T00:00:00Z";
    private const long Created = 1735689600;

    public async Task ListAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context) is not { } call)
        {
            return;
        }
        if (!ModelsPage.TryRead(context.Request.Query, call.Dialect, out var page, out var refused))
        {
            await RequestPipeline.WriteErrorAsync(context, call.Dialect, refused, call.RequestId);
            return;
        }
        var models = page.Of(Listed(call), out var hasMore);
        using (var json = StartAnswer(context))
        {
            json.WriteStartObject();
            if (call.Dialect == Dialect.OpenAI)
            {
                json.WriteString("object", "list");
            }
            json.WriteStartArray("data");
            foreach (var model in models)
            {
                WriteModel(json, call.Dialect, model);
            }
            json.WriteEndArray();
            // Anthropic's list is always a page; OpenAI's is one when the client asked for one (its cursor lists' fields).
            if (call.Dialect == Dialect.Anthropic || page.Paged)
            {
                json.WriteBoolean("has_more", hasMore);
                WriteIdOrNull(json, "first_id", models.Count > 0 ? models[0].Id : null);
                WriteIdOrNull(json, "last_id", models.Count > 0 ? models[^1].Id : null);
            }
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    public async Task RetrieveAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context) is not { } call)
        {
            return;
        }
        // A model id holding a slash reaches the route escaped by some clients.
        var id = (context.Request.RouteValues["id"] as string ?? "").Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        var found = Listed(call).Where(m => m.Id == id).Take(1).ToList();
        if (found.Count == 0)
        {
            await RequestPipeline.WriteErrorAsync(context, call.Dialect,
                new GatewayError(ErrorKind.NotFound, $"The model '{id}' does not exist or you do not have access to it.", "model_not_found", "model"),
                call.RequestId);
            return;
        }
        using (var json = StartAnswer(context))
        {
            WriteModel(json, call.Dialect, found[0]);
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>The caller's request, authenticated; null once an error has been answered.</summary>
    private async Task<CorridorRequestFeature?> AuthenticateAsync(HttpContext context)
    {
        var dialect = ClientDialect.Of(context.Request);
        var now = time.GetUtcNow();
        var call = new CorridorRequestFeature(state.Active, RequestPipeline.NewRequestId(now), dialect, Operation.Models, now, time.GetTimestamp(), 0);
        RequestPipeline.WriteRequestId(context.Response, call.RequestId);
        context.Response.Headers["x-corridor-region"] = "none";
        if (authenticator.Authenticate(context, call) is { } error)
        {
            await RequestPipeline.WriteErrorAsync(context, dialect, error, call.RequestId);
            return null;
        }
        return call;
    }

    /// <summary>
    /// The entitled models with their vendors, and the aliases that lead to at least one of them, by id. An Anthropic client
    /// (one that sends <c>anthropic-version</c>) calls models through <c>/v1/messages</c> only: it is listed the chat models.
    /// </summary>
    private static List<(string Id, string Owner)> Listed(CorridorRequestFeature call)
    {
        var models = Entitlement.EntitledModels(call, call.ReceivedAt)
            .Where(m => call.Dialect == Dialect.OpenAI || m.Config.Capabilities.HasFlag(ModelCapabilities.Chat))
            .ToList();
        return [.. models.Select(m => (m.Id, Owner: m.Vendor.Id))
            .Concat(Entitlement.AliasesOf(call, models).Select(alias => (Id: alias, Owner: "corridor")))
            .OrderBy(m => m.Id, StringComparer.Ordinal)];
    }

    private static Utf8JsonWriter StartAnswer(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return new Utf8JsonWriter(context.Response.BodyWriter);
    }

    private static void WriteModel(Utf8JsonWriter json, Dialect dialect, (string Id, string Owner) model)
    {
        json.WriteStartObject();
        json.WriteString("id", model.Id);
        if (dialect == Dialect.Anthropic)
        {
            json.WriteString("type", "model");
            json.WriteString("display_name", model.Id);
            json.WriteString("created_at", CreatedAt);
        }
        else
        {
            json.WriteString("object", "model");
            json.WriteNumber("created", Created);
            json.WriteString("owned_by", model.Owner);
        }
        json.WriteEndObject();
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
