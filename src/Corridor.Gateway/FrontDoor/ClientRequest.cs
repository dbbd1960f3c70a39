using System.Buffers;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// One request in Corridor's own model, whatever the client's dialect. The original body is kept
/// (in a pooled buffer) so a same-dialect upstream receives it unchanged apart from spliced edits.
/// </summary>
internal sealed class ClientRequest : IDisposable
{
    private byte[]? _buffer;

    public ClientRequest(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Body => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Length);

    public string Model { get; set; } = "";

    /// <summary>Where the model's JSON string value lies in <see cref="Body"/>, quotes included.</summary>
    public Range ModelValue { get; set; }

    public bool Stream { get; set; }

    /// <summary>Whether the client asked for the usage chunk in an OpenAI stream.</summary>
    public bool IncludeUsage { get; set; }

    /// <summary>Where the <c>stream_options</c> value lies, when the client sent one.</summary>
    public Range? StreamOptionsValue { get; set; }

    public int N { get; set; } = 1;

    public bool Logprobs { get; set; }

    /// <summary>Whether the client asked the model to reason (<c>reasoning_effort</c>, <c>thinking</c>; docs/policy.md).</summary>
    public bool Reasoning { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>
    /// What the request asks of a model beyond chatting: <see cref="ModelCapabilities.Tools"/> (tools to call),
    /// <see cref="ModelCapabilities.Vision"/> (an image or a document to read), <see cref="ModelCapabilities.Reasoning"/>
    /// (<see cref="Reasoning"/>). Only models that have them serve it (docs/forwarding.md).
    /// </summary>
    public ModelCapabilities Needs => (Reasoning && !ReasoningOptional ? ModelCapabilities.Reasoning : ModelCapabilities.None) | ContentNeeds;

    /// <summary>
    /// The only reasoning asked for is Anthropic's adaptive thinking (<c>thinking: {"type":"adaptive"}</c>): the model
    /// thinks when it judges it useful, which a model that cannot reason satisfies by not thinking, so it needs no
    /// <see cref="ModelCapabilities.Reasoning"/> (policy still counts it as asking to reason). Claude Code sends it on every
    /// request, whatever the model it is pointed at.
    /// </summary>
    public bool ReasoningOptional { get; set; }

    /// <summary>The part of <see cref="Needs"/> the body's fields ask for: tools, images and documents.</summary>
    public ModelCapabilities ContentNeeds { get; set; }

    /// <summary>The body switches thinking off: a <c>thinking</c> of type <c>disabled</c> (docs/policy.md).</summary>
    public bool ThinkingOff { get; set; }

    /// <summary>
    /// Nothing in the body switches thinking off, and Corridor does: the reasoning the client asked for (or that its model does
    /// by default) was stripped (a policy's <c>strip</c>, the monitor's throttle), or the client asked for a
    /// <c>reasoning_effort</c> of <c>none</c>. An upstream that thinks by default and reads the thinking switch
    /// (<see cref="Forwarding.UpstreamTarget.TakesThinkingSwitch"/>, DeepSeek) is sent <c>thinking: disabled</c>, so the
    /// request is served, and billed, without the reasoning it was refused or did not want.
    /// </summary>
    public bool TurnsThinkingOff { get; set; }

    /// <summary>
    /// The body carries a field that sets the terms an upstream serves it on (<c>service_tier</c>, <c>inference_geo</c>,
    /// <c>speed</c>): what the vendor charges, or where it runs the inference. They are the deployment's to set, so the
    /// client's are taken out on the way (<see cref="Forwarding.UpstreamTerms"/>).
    /// </summary>
    public bool SetsTerms { get; set; }

    /// <summary>The request this one was rewritten from (restrictions, throttling), kept for the monitor; null for the client's own.</summary>
    public ClientRequest? RewrittenFrom { get; init; }

    /// <summary>The body as the client sent it, before any rewrite.</summary>
    public ClientRequest Original => RewrittenFrom?.Original ?? this;
    /// <summary>What policy decides on for this request to <paramref name="model"/>.</summary>
    public RequestFeatures Features(string model) => new(model, Stream, Logprobs, N, MaxTokens, Reasoning, ThinkingOff: ThinkingOff || TurnsThinkingOff);

    /// <summary>A copy in a pooled buffer of its own, for work that outlives this request (shadow evaluation).</summary>
    public ClientRequest Copy()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Length);
        Body.Span.CopyTo(buffer);
        return new ClientRequest(buffer, Length)
        {
            Model = Model,
            ModelValue = ModelValue,
            Stream = Stream,
            IncludeUsage = IncludeUsage,
            StreamOptionsValue = StreamOptionsValue,
            N = N,
            Logprobs = Logprobs,
            Reasoning = Reasoning,
            ReasoningOptional = ReasoningOptional,
            MaxTokens = MaxTokens,
            ContentNeeds = ContentNeeds,
            ThinkingOff = ThinkingOff,
            TurnsThinkingOff = TurnsThinkingOff,
            SetsTerms = SetsTerms,
        };
    }

    public void Dispose()
    {
        RewrittenFrom?.Dispose();
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
