using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.StoredResponses;

/// <summary>
/// A Responses request that continues the stored response <paramref name="PreviousResponseId"/>, as the front door read it:
/// its body as sent (<paramref name="Sent"/>), checked, not yet translated. Once its caller is known and that response of its
/// tenant is read, it is translated once with that response's items first (<see cref="FrontDoor.FrontDoor.Continue"/>).
/// </summary>
internal sealed record ContinuedRequest(ClientRequest Sent, string PreviousResponseId);
