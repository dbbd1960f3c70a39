using System.Globalization;
using System.Text.Json;

namespace Corridor.Simulator.Protocol;

internal enum SchemaType
{
    Unspecified,
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    Null,
}

/// <summary>
/// The part of a JSON schema the simulator needs to produce a value that satisfies it:
/// tool-call arguments and <c>response_format</c> json_schema answers.
/// </summary>
internal sealed class SchemaNode
{
    private const int MaxWriteDepth = 16;

    public SchemaType Type { get; private set; }

    public List<KeyValuePair<string, SchemaNode>> Properties { get; } = [];

    public List<string>? Required { get; private set; }

    public SchemaNode? Items { get; private set; }

    public SchemaNode? FirstAlternative { get; private set; }

    public JsonTokenType EnumKind { get; private set; } = JsonTokenType.None;

    public string? EnumText { get; private set; }

    public double? Minimum { get; private set; }

    public double? Maximum { get; private set; }

    public int? MinItems { get; private set; }

    public string? Format { get; private set; }

    /// <summary>Reads a schema; the reader is on its first token and is left on its last.</summary>
    public static SchemaNode Read(ref Utf8JsonReader reader)
    {
        var node = new SchemaNode();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // `true`/`false` schemas and anything unexpected: no constraints.
            reader.Skip();
            return node;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var keyword = ReadKeyword(ref reader);
            reader.Read();
            switch (keyword)
            {
                case Keyword.Type:
                    node.Type = ReadType(ref reader);
                    break;
                case Keyword.Properties:
                    node.ReadProperties(ref reader);
                    break;
                case Keyword.Required:
                    node.Required = ReadStrings(ref reader);
                    break;
                case Keyword.Items:
                    node.Items = Read(ref reader);
                    break;
                case Keyword.Alternatives:
                    node.FirstAlternative ??= ReadFirstOf(ref reader);
                    break;
                case Keyword.Enum:
                    node.ReadEnum(ref reader);
                    break;
                case Keyword.Const:
                    node.ReadConstant(ref reader);
                    break;
                case Keyword.Minimum:
                    node.Minimum = NumberOrNull(ref reader);
                    break;
                case Keyword.Maximum:
                    node.Maximum = NumberOrNull(ref reader);
                    break;
                case Keyword.MinItems:
                    node.MinItems = (int?)NumberOrNull(ref reader);
                    break;
                case Keyword.Format:
                    node.Format = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return node;
    }

    private enum Keyword
    {
        Other,
        Type,
        Properties,
        Required,
        Items,
        Alternatives,
        Enum,
        Const,
        Minimum,
        Maximum,
        MinItems,
        Format,
    }

    private static Keyword ReadKeyword(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("type"u8) ? Keyword.Type
        : reader.ValueTextEquals("properties"u8) ? Keyword.Properties
        : reader.ValueTextEquals("required"u8) ? Keyword.Required
        : reader.ValueTextEquals("items"u8) ? Keyword.Items
        : reader.ValueTextEquals("anyOf"u8) || reader.ValueTextEquals("oneOf"u8) || reader.ValueTextEquals("allOf"u8) ? Keyword.Alternatives
        : reader.ValueTextEquals("enum"u8) ? Keyword.Enum
        : reader.ValueTextEquals("const"u8) ? Keyword.Const
        : reader.ValueTextEquals("minimum"u8) ? Keyword.Minimum
        : reader.ValueTextEquals("maximum"u8) ? Keyword.Maximum
        : reader.ValueTextEquals("minItems"u8) ? Keyword.MinItems
        : reader.ValueTextEquals("format"u8) ? Keyword.Format
        : Keyword.Other;

    private static double? NumberOrNull(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : null;

    private static SchemaType ReadType(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return ParseType(ref reader);
        }

        var type = SchemaType.Unspecified;
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            // ["string", "null"]: the first type that is not null.
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var candidate = reader.TokenType == JsonTokenType.String ? ParseType(ref reader) : SchemaType.Unspecified;
                if (type == SchemaType.Unspecified || type == SchemaType.Null)
                {
                    type = candidate;
                }
            }

            return type;
        }

        reader.Skip();
        return type;
    }

    private static SchemaType ParseType(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("object"u8) ? SchemaType.Object
        : reader.ValueTextEquals("array"u8) ? SchemaType.Array
        : reader.ValueTextEquals("string"u8) ? SchemaType.String
        : reader.ValueTextEquals("integer"u8) ? SchemaType.Integer
        : reader.ValueTextEquals("number"u8) ? SchemaType.Number
        : reader.ValueTextEquals("boolean"u8) ? SchemaType.Boolean
        : reader.ValueTextEquals("null"u8) ? SchemaType.Null
        : SchemaType.Unspecified;

    private void ReadProperties(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            Properties.Add(KeyValuePair.Create(name, Read(ref reader)));
        }
    }

    private static List<string>? ReadStrings(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var strings = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                strings.Add(reader.GetString()!);
            }
            else
            {
                reader.Skip();
            }
        }

        return strings;
    }

    private static SchemaNode? ReadFirstOf(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        SchemaNode? first = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (first is null)
            {
                first = Read(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return first;
    }

    private void ReadEnum(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (EnumKind == JsonTokenType.None)
            {
                ReadConstant(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void ReadConstant(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                EnumText = reader.GetString();
                break;
            case JsonTokenType.Number:
                EnumText = reader.GetDouble().ToString("R", CultureInfo.InvariantCulture);
                break;
            case JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                break;
            default:
                // Object and array constants are left unconstrained.
                reader.Skip();
                return;
        }

        EnumKind = reader.TokenType;
    }

    /// <summary>
    /// Writes a value that satisfies this schema. Objects get their required properties, or every
    /// property when the schema lists none as required and <paramref name="allWhenNoneRequired"/> is set.
    /// </summary>
    public static void WriteValue(Utf8JsonWriter writer, SchemaNode? node, string name, bool allWhenNoneRequired, int depth = 0)
    {
        if (node is null || depth > MaxWriteDepth)
        {
            writer.WriteStringValue("simulated " + name);
            return;
        }

        if (node.EnumKind != JsonTokenType.None)
        {
            node.WriteConstant(writer);
            return;
        }

        if (node.Type == SchemaType.Unspecified && node.FirstAlternative is not null)
        {
            WriteValue(writer, node.FirstAlternative, name, allWhenNoneRequired, depth + 1);
            return;
        }

        switch (node.EffectiveType)
        {
            case SchemaType.Object:
                WriteObject(writer, node, allWhenNoneRequired, depth);
                break;
            case SchemaType.Array:
                writer.WriteStartArray();
                var count = Math.Clamp(node.MinItems ?? 1, 0, 3);
                for (var i = 0; i < count; i++)
                {
                    WriteValue(writer, node.Items, name, allWhenNoneRequired, depth + 1);
                }

                writer.WriteEndArray();
                break;
            case SchemaType.Integer:
                writer.WriteNumberValue((long)node.NumberWithinBounds(1, Math.Ceiling, Math.Floor));
                break;
            case SchemaType.Number:
                writer.WriteNumberValue(node.NumberWithinBounds(1.5, static x => x, static x => x));
                break;
            case SchemaType.Boolean:
                writer.WriteBooleanValue(true);
                break;
            case SchemaType.Null:
                writer.WriteNullValue();
                break;
            default:
                writer.WriteStringValue(node.Format switch
                {
                    "date-time" => "2025-01-01T00:00:00Z",
                    "date" => "2025-01-01",
                    "time" => "00:00:00Z",
                    "email" => "simulated@example.com",
                    "uri" or "url" => "https://example.com/simulated",
                    "uuid" => "00000000-0000-4000-8000-000000000000",
                    _ => "simulated " + name,
                });
                break;
        }
    }

    /// <summary>Writes <c>{}</c> when there is no schema, so tool arguments are always an object.</summary>
    public static void WriteObject(Utf8JsonWriter writer, SchemaNode? node, bool allWhenNoneRequired, int depth = 0)
    {
        writer.WriteStartObject();
        if (node is not null)
        {
            if (node.Required is { } required)
            {
                foreach (var property in required)
                {
                    writer.WritePropertyName(property);
                    WriteValue(writer, node.Find(property), property, allWhenNoneRequired, depth + 1);
                }
            }
            else if (allWhenNoneRequired)
            {
                foreach (var (property, schema) in node.Properties)
                {
                    writer.WritePropertyName(property);
                    WriteValue(writer, schema, property, allWhenNoneRequired, depth + 1);
                }
            }
        }

        writer.WriteEndObject();
    }

    private SchemaType EffectiveType => Type switch
    {
        SchemaType.Unspecified when Properties.Count > 0 => SchemaType.Object,
        SchemaType.Unspecified when Items is not null => SchemaType.Array,
        _ => Type,
    };

    private SchemaNode? Find(string property)
    {
        foreach (var (name, schema) in Properties)
        {
            if (name == property)
            {
                return schema;
            }
        }

        return null;
    }

    private double NumberWithinBounds(double preferred, Func<double, double> roundUp, Func<double, double> roundDown)
    {
        var value = Minimum is { } min ? roundUp(min) : preferred;
        return Maximum is { } max && value > max ? roundDown(max) : value;
    }

    private void WriteConstant(Utf8JsonWriter writer)
    {
        switch (EnumKind)
        {
            case JsonTokenType.String:
                writer.WriteStringValue(EnumText);
                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(EnumText!);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
