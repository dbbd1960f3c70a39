using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Corridor.Core.Tenants;

namespace Corridor.Core.Audit;

/// <summary>Builds the JSON object of an entry's details with <see cref="Utf8JsonWriter"/>: compact, properties in the order written.</summary>
public static class AuditDetails
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = false,
        // Names and notes are shown to people as written; the text is hashed, so it must not depend on escaping choices later.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public const string Empty = "{}";

    /// <summary>A thread's buffer is kept up to this size; one that grew larger (a long trace, a large snapshot) is dropped after use.</summary>
    private const int KeptBufferBytes = 64 * 1024;

    // One buffer and writer a thread, reused: with a policy this runs for every request (its decision's details), and a
    // fresh buffer grew by doubling through several arrays each time.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    /// <summary>Writes one object: <paramref name="writeProperties"/> writes its properties.</summary>
    public static string Write(Action<Utf8JsonWriter> writeProperties)
    {
        ArgumentNullException.ThrowIfNull(writeProperties);
        // Taken off the thread while in use, so a nested Write (from within writeProperties) gets a fresh pair.
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(1024);
        var json = t_json;
        (t_buffer, t_json) = (null, null);
        if (json is null)
        {
            json = new Utf8JsonWriter(buffer, Options);
        }
        else
        {
            json.Reset(buffer);
        }

        json.WriteStartObject();
        writeProperties(json);
        json.WriteEndObject();
        json.Flush();
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (buffer.Capacity <= KeptBufferBytes)
        {
            buffer.ResetWrittenCount();
            (t_buffer, t_json) = (buffer, json);
        }

        return text;
    }

    /// <summary>Every profile field of a tenant, as <c>tenant.create</c> records it.</summary>
    public static string TenantSnapshot(Tenant tenant) => Write(json =>
    {
        foreach (var field in TenantFields.Of(tenant))
        {
            json.WriteString(field.Name, field.Value);
        }
    });

    /// <summary><c>{"changes":{"tier":{"from":"basic","to":"verified"}}}</c>, as <c>tenant.update</c> records it.</summary>
    public static string TenantChanges(IReadOnlyList<TenantFieldChange> changes) => Changes(null, changes);

    /// <summary><c>{"scope":"key","changes":{"rpm":{"from":null,"to":"60"}}}</c>, as <c>limits.update</c> records it.</summary>
    public static string LimitChanges(string scope, IReadOnlyList<TenantFieldChange> changes) => Changes(scope, changes);

    private static string Changes(string? scope, IReadOnlyList<TenantFieldChange> changes) => Write(json =>
    {
        if (scope is not null)
        {
            json.WriteString("scope", scope);
        }

        json.WriteStartObject("changes");
        foreach (var change in changes)
        {
            json.WriteStartObject(change.Name);
            json.WriteString("from", change.From);
            json.WriteString("to", change.To);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    });
}
