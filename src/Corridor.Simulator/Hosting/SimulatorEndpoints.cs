using System.Globalization;
using Corridor.Simulator.Faults;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Http;
using Corridor.Simulator.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Corridor.Simulator.Hosting;

/// <summary>
/// The simulator's HTTP surface. Every upstream request goes through <see cref="AdmitAsync"/>
/// (knobs, latency, forced status, credential, random faults) before it is read and answered.
/// </summary>
internal sealed class SimulatorEndpoints
{
    private const string StatsPath = "/_sim/stats";
    private const string ResetPath = "/_sim/reset";

    private static readonly StringValues SimulatorMarker = new("1");

    private readonly SimulatorState _state;

    private SimulatorEndpoints(SimulatorState state) => _state = state;

    public static void Map(WebApplication app, SimulatorState state)
    {
        var endpoints = new SimulatorEndpoints(state);
        app.Use(next => context => endpoints.CountAndMark(context, next));
        endpoints.MapUpstream(app);
        endpoints.MapUpstream(app.MapGroup("/x/{knobs}"));
        app.MapGet(StatsPath, new RequestDelegate(endpoints.StatsAsync));
        app.MapPost(ResetPath, new RequestDelegate(endpoints.ResetAsync));
    }

    private void MapUpstream(IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/chat/completions", new RequestDelegate(context => ChatAsync(context, Dialect.OpenAI)));
        routes.MapPost("/v1/messages", new RequestDelegate(context => ChatAsync(context, Dialect.Anthropic)));
        routes.MapPost("/v1/messages/count_tokens", new RequestDelegate(CountTokensAsync));
        routes.MapPost("/v1/embeddings", new RequestDelegate(context => EmbeddingsAsync(context, Dialect.OpenAI)));
        routes.MapGet("/v1/models", new RequestDelegate(ModelsAsync));
        routes.MapPost("/openai/deployments/{deployment}/chat/completions", new RequestDelegate(context => ChatAsync(context, Dialect.AzureOpenAI)));
        routes.MapPost("/openai/deployments/{deployment}/embeddings", new RequestDelegate(context => EmbeddingsAsync(context, Dialect.AzureOpenAI)));
    }

    /// <summary>Counts every request but the simulator's own, and marks every response as simulated.</summary>
    private Task CountAndMark(HttpContext context, RequestDelegate next)
    {
        context.Response.Headers["x-corridor-simulator"] = SimulatorMarker;
        var path = context.Request.Path.Value ?? "/";
        if (!path.StartsWith("/_sim/", StringComparison.Ordinal))
        {
            _state.Requests.Count(path);
        }

        return next(context);
    }

    private async Task ChatAsync(HttpContext context, Dialect dialect)
    {
        if (await AdmitAsync(context, dialect) is not { } admission
            || await ReadRequestAsync<ChatRequest>(context, dialect, ChatRequestReader.TryRead) is not { } request
            || await AnsweredByFaultAsync(context, admission, request.Stream))
        {
            return;
        }

        IChatFormat format = dialect == Dialect.Anthropic ? AnthropicMessageFormat.Instance : OpenAIChatFormat.Instance;
        var model = ModelOrDeployment(context, request.Model);
        if (request.ReasoningPassedBack)
        {
            _state.CountReasoningPassedBack();
        }

        // A reasoning model on the OpenAI endpoints reasons unless its thinking is switched off (DeepSeek's thinking mode).
        var reasons = dialect == Dialect.Anthropic ? request.Thinking : CompletionPlan.Reasons(model) && !request.ThinkingDisabled;
        if (dialect != Dialect.Anthropic && reasons && request.CallWithoutReasoning && CompletionPlan.WantsReasoningBack(model))
        {
            await ErrorResponses.WriteAsync(context, dialect, StatusCodes.Status400BadRequest, CompletionPlan.ReasoningNotPassedBack);
            return;
        }

        var plan = CompletionPlan.Create(request, model, _state.Options.Seed, admission.Sequence, _state.Time.GetUtcNow().ToUnixTimeSeconds(), format.Ids,
            _state.PromptCache.Use(model, request, dialect), reasons: reasons,
            callsReason: dialect != Dialect.Anthropic);
        if (!request.Stream)
        {
            await HttpBodies.WriteJsonAsync(context, StatusCodes.Status200OK, (format, plan), static (writer, state) => state.format.WriteWhole(writer, state.plan),
                admission.BodyFault, _state.Time);
            return;
        }

        using var session = SseSession.Start(context, _state.Time, _state.Options.TokenInterval, admission.CutAfter(plan.CompletionTokens), admission.StallAfterTokens,
            admission.TruncateAfter);
        await ChatStreamer.StreamAsync(session, plan, format);
    }

    /// <summary>
    /// Anthropic's token count: the <c>input_tokens</c> a message request with the same prompt is answered with on
    /// <c>/v1/messages</c>, from the same reading of the body, so the two always agree.
    /// </summary>
    private async Task CountTokensAsync(HttpContext context)
    {
        if (await AdmitAsync(context, Dialect.Anthropic) is not { } admission
            || await ReadRequestAsync<ChatRequest>(context, Dialect.Anthropic, ChatRequestReader.TryReadCount) is not { } request
            || await AnsweredByFaultAsync(context, admission, stream: false))
        {
            return;
        }

        await HttpBodies.WriteJsonAsync(context, StatusCodes.Status200OK, request.PromptTokens, static (writer, tokens) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("input_tokens"u8, tokens);
            writer.WriteEndObject();
        }, admission.BodyFault, _state.Time);
    }

    private async Task EmbeddingsAsync(HttpContext context, Dialect dialect)
    {
        if (await AdmitAsync(context, dialect) is not { } admission
            || await ReadRequestAsync<EmbeddingRequest>(context, dialect, EmbeddingRequest.TryRead) is not { } request
            || await AnsweredByFaultAsync(context, admission, stream: false))
        {
            return;
        }

        await HttpBodies.WriteJsonAsync(context, StatusCodes.Status200OK, (request, ModelOrDeployment(context, request.Model), _state.Options.Seed), EmbeddingsWriter.Write);
    }

    /// <summary>Anthropic's listing when the request carries <c>anthropic-version</c>, OpenAI's otherwise.</summary>
    private async Task ModelsAsync(HttpContext context)
    {
        var dialect = context.Request.Headers.ContainsKey("anthropic-version") ? Dialect.Anthropic : Dialect.OpenAI;
        if (await AdmitAsync(context, dialect) is not { } admission || await AnsweredByFaultAsync(context, admission, stream: false))
        {
            return;
        }

        await HttpBodies.WriteJsonAsync<object?>(context, StatusCodes.Status200OK, null,
            dialect == Dialect.Anthropic ? ModelCatalog.WriteAnthropic : ModelCatalog.WriteOpenAI);
    }

    private delegate bool RequestReader<T>(ReadOnlySpan<byte> body, Dialect dialect, out T request, out RequestProblem problem);

    /// <summary>Reads and parses the body; null (and a 400 in the dialect sent) when it is not a valid request.</summary>
    private static async Task<T?> ReadRequestAsync<T>(HttpContext context, Dialect dialect, RequestReader<T> read)
        where T : class
    {
        RequestProblem problem;
        using (var body = await HttpBodies.ReadAsync(context.Request, context.RequestAborted))
        {
            if (read(body.WrittenSpan, dialect, out var request, out problem))
            {
                return request;
            }
        }

        await ErrorResponses.WriteAsync(context, dialect, StatusCodes.Status400BadRequest, problem.Message, problem.Param);
        return null;
    }

    /// <summary>
    /// The faults that replace an answer: a body that is not JSON, or a dropped connection. Streams are
    /// cut later, mid-way; a whole answer has no middle, so its connection drops before the body.
    /// </summary>
    private static async ValueTask<bool> AnsweredByFaultAsync(HttpContext context, Admission admission, bool stream)
    {
        if (admission.Garbage)
        {
            await WriteGarbageAsync(context, stream);
            return true;
        }

        // A whole answer has no middle in tokens; a stream cut at its 0th token is cut before its headers too.
        if (admission.DisconnectAfterTokens is { } tokens && (!stream || tokens == 0))
        {
            context.Abort();
            return true;
        }

        return false;
    }

    /// <summary>Applies knobs and global faults; null when the request has been answered already.</summary>
    private async ValueTask<Admission?> AdmitAsync(HttpContext context, Dialect dialect)
    {
        var options = _state.Options;
        if (!FaultKnobs.TryParse(context.Request.RouteValues["knobs"] as string, out var knobs, out var knobError))
        {
            await ErrorResponses.WriteAsync(context, dialect, StatusCodes.Status400BadRequest, knobError!);
            return null;
        }

        var sequence = _state.NextSequence();
        context.Response.Headers[dialect == Dialect.Anthropic ? "request-id" : "x-request-id"] =
            "req_corridorsim" + sequence.ToString("x12", CultureInfo.InvariantCulture);

        var latency = options.Latency + knobs.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _state.Time, context.RequestAborted);
        }

        if (knobs.Status is { } status)
        {
            await ErrorResponses.WriteAsync(context, dialect, status, $"Simulated upstream failure: status {status} was asked for by the simulator's /x/ knobs.");
            return null;
        }

        if (Problem(context, dialect) is { } problem)
        {
            await ErrorResponses.WriteAsync(context, dialect, problem.StatusCode, problem.Message);
            return null;
        }

        // Draws in a fixed order, so the seed alone decides which requests fail.
        var random = new SplitMix64(Hashing.Combine((ulong)options.Seed, (ulong)sequence));
        var errorDraw = random.NextDouble();
        var rateLimitDraw = random.NextDouble();
        var disconnectDraw = random.NextDouble();
        var cutDraw = random.NextDouble();
        if (errorDraw < options.ErrorRate || errorDraw < knobs.ErrorRate)
        {
            await ErrorResponses.WriteAsync(context, dialect, StatusCodes.Status500InternalServerError, "Simulated internal server error from the Corridor simulator.");
            return null;
        }

        if (rateLimitDraw < options.RateLimitRate || rateLimitDraw < knobs.RateLimitRate)
        {
            await ErrorResponses.WriteAsync(context, dialect, StatusCodes.Status429TooManyRequests, "Simulated rate limit from the Corridor simulator. Please retry after 1 second.");
            return null;
        }

        return new Admission(sequence, knobs.Garbage, knobs.DisconnectAfterTokens, disconnectDraw < options.DisconnectRate ? cutDraw : null, knobs.StallAfterTokens)
        {
            TruncateAfter = knobs.TruncateAfter,
            ResetAfterBytes = knobs.ResetAfterBytes,
        };
    }

    /// <summary>What a real vendor would refuse before reading the body: a missing version or credential.</summary>
    private (int StatusCode, string Message)? Problem(HttpContext context, Dialect dialect)
    {
        var headers = context.Request.Headers;
        if (dialect == Dialect.AzureOpenAI && !context.Request.Query.ContainsKey("api-version"))
        {
            return (StatusCodes.Status400BadRequest, "The api-version query parameter (?api-version=) is required for all requests.");
        }

        if (dialect == Dialect.Anthropic && !headers.ContainsKey("anthropic-version"))
        {
            return (StatusCodes.Status400BadRequest, "anthropic-version: header is required");
        }

        if (_state.Options.RequiredApiKey is not { } required)
        {
            return null;
        }

        // Anthropic's own SDK sends its key as a bearer token now; x-api-key is the documented header.
        var presented = dialect switch
        {
            Dialect.Anthropic when headers.ContainsKey("x-api-key") => headers["x-api-key"].ToString(),
            Dialect.AzureOpenAI => headers["api-key"].ToString(),
            _ => BearerToken(headers.Authorization.ToString()),
        };
        if (presented == required)
        {
            return null;
        }

        var message = (dialect, presented.Length == 0) switch
        {
            (Dialect.Anthropic, true) => "x-api-key header is required",
            (Dialect.Anthropic, false) => "invalid x-api-key",
            (Dialect.AzureOpenAI, _) => "Access denied due to invalid subscription key or wrong API endpoint. Provide a valid key in the api-key header.",
            (_, true) => "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).",
            _ => "Incorrect API key provided.",
        };
        return (StatusCodes.Status401Unauthorized, message);
    }

    private static string BearerToken(string authorization) =>
        authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";

    /// <summary>Azure requests may leave the model out: the deployment in the path names it.</summary>
    private static string ModelOrDeployment(HttpContext context, string? model) =>
        model is { Length: > 0 } ? model : context.Request.RouteValues["deployment"] as string ?? "";

    /// <summary>A 200 whose body is not JSON (or, for a stream, whose event data is not JSON).</summary>
    private static Task WriteGarbageAsync(HttpContext context, bool stream) => stream
        ? HttpBodies.WriteBytesAsync(context, StatusCodes.Status200OK, "text/event-stream; charset=utf-8", "data: {corridor-simulator garbage: this event is deliberately not JSON\n\n"u8.ToArray())
        : HttpBodies.WriteBytesAsync(context, StatusCodes.Status200OK, "application/json", "<html>corridor-simulator garbage: this body is deliberately not JSON</html>"u8.ToArray());

    private Task StatsAsync(HttpContext context) =>
        HttpBodies.WriteJsonAsync(context, StatusCodes.Status200OK, _state, static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("total"u8, state.Requests.Total);
            writer.WriteStartObject("paths"u8);
            foreach (var (path, count) in state.Requests.Snapshot())
            {
                writer.WriteNumber(path, count);
            }

            writer.WriteEndObject();
            writer.WriteNumber("reasoningPassedBack"u8, state.ReasoningPassedBack);
            writer.WriteEndObject();
        });

    private Task ResetAsync(HttpContext context)
    {
        _state.Requests.Reset();
        _state.ResetReasoningPassedBack();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>What admission decided for a request that goes on to be answered.</summary>
    private readonly record struct Admission(long Sequence, bool Garbage, int? DisconnectAfterTokens, double? RandomCutFraction, int? StallAfterTokens)
    {
        public int? TruncateAfter { get; init; }

        public int? ResetAfterBytes { get; init; }

        /// <summary>What goes wrong with a whole answer's body after its headers, if anything.</summary>
        public BodyFault? BodyFault =>
            ResetAfterBytes is { } reset ? new BodyFault(BodyFaultKind.Reset, reset)
            : StallAfterTokens is { } stall ? new BodyFault(BodyFaultKind.Stall, stall)
            : TruncateAfter is { } truncate ? new BodyFault(BodyFaultKind.Truncate, truncate)
            : null;

        /// <summary>After how many tokens a stream is cut: as the knob says, or somewhere in the middle for a random disconnect.</summary>
        public int? CutAfter(int totalTokens) =>
            DisconnectAfterTokens ?? ResetAfterBytes ?? (RandomCutFraction is { } fraction ? 1 + (int)(fraction * Math.Max(totalTokens - 1, 1)) : null);
    }
}
