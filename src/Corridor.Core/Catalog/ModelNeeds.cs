namespace Corridor.Core.Catalog;

/// <summary>What the models that serve a request must be able to do: one rule for the gateway and <c>corridor policy diff</c>.</summary>
public static class ModelNeeds
{
    /// <summary>
    /// The capabilities a model must have to serve a request of <paramref name="kind"/> (chat or embeddings) that
    /// <paramref name="asks"/> for more (tools, images and documents, reasoning). A token count asks for no output, so it is
    /// not refused for reasoning no model of the name has (<paramref name="anyHas"/>, over <paramref name="state"/>, tells
    /// whether one has a set of capabilities); when one has it, the count goes where the message itself would.
    /// </summary>
    public static ModelCapabilities Of<TState>(ModelCapabilities kind, ModelCapabilities asks, bool isCount, TState state,
        Func<TState, ModelCapabilities, bool> anyHas)
    {
        ArgumentNullException.ThrowIfNull(anyHas);
        var needs = kind | asks;
        return isCount && (asks & ModelCapabilities.Reasoning) != 0 && !anyHas(state, needs) ? needs & ~ModelCapabilities.Reasoning : needs;
    }
}
