namespace Corridor.Simulator.Protocol;

/// <summary>Which vendor API a request speaks: decides credential header, error shape and response shape.</summary>
internal enum Dialect
{
    OpenAI,
    AzureOpenAI,
    Anthropic,
}
