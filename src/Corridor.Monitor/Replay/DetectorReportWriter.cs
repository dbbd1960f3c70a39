using System.Globalization;
using System.Text.Json;
using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Replay;

/// <summary>Writes detector report v1 (spec/traffic-log.md): every subject and cluster that reached a level.</summary>
public static class DetectorReportWriter
{
    public static void Write(Stream output, MonitorSnapshot snapshot, long requests, long skippedLines)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(snapshot);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteNumber("v", 1);
        json.WriteNumber("requests", requests);
        json.WriteNumber("skipped_lines", skippedLines);
        json.WriteStartArray("subjects");
        foreach (var subject in snapshot.Subjects)
        {
            if (subject.HighestLevel == EnforcementLevel.None || subject.Subject.Kind == SubjectKind.Cluster)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("kind", subject.Subject.KindName);
            json.WriteString("id", subject.Subject.Id);
            if (subject.Subject.Kind == SubjectKind.Key && subject.TenantId is { } tenant)
            {
                json.WriteString("tenant", tenant);
            }

            json.WriteString("level", subject.HighestLevel.Name());
            json.WriteNumber("score", Math.Round(subject.PeakScore, 3));
            if (subject.FirstFlagAt is { } flagged)
            {
                json.WriteString("first_flag_ts", Timestamp(flagged));
                json.WriteNumber("first_flag_request", subject.FirstFlagRequest);
            }

            WriteReasons(json, subject.Reasons);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("clusters");
        foreach (var cluster in snapshot.Clusters)
        {
            if (cluster.HighestLevel == EnforcementLevel.None)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("id", cluster.Id);
            json.WriteString("level", cluster.HighestLevel.Name());
            json.WriteNumber("score", Math.Round(cluster.PeakScore, 3));
            if (cluster.FirstFlagAt is { } flagged)
            {
                json.WriteString("first_flag_ts", Timestamp(flagged));
            }

            json.WriteStartArray("members");
            foreach (var member in cluster.Members)
            {
                json.WriteStartObject();
                json.WriteString("kind", member.KindName);
                json.WriteString("id", member.Id);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            WriteReasons(json, cluster.Reasons);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
    }

    public static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteReasons(Utf8JsonWriter json, IReadOnlyList<SignalContribution> reasons)
    {
        json.WriteStartArray("reasons");
        foreach (var reason in reasons)
        {
            json.WriteStartObject();
            json.WriteString("signal", reason.Name);
            json.WriteNumber("value", Math.Round(reason.Value, 3));
            json.WriteNumber("contribution", Math.Round(reason.Contribution, 3));
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
