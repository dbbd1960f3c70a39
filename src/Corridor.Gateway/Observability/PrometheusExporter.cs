using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Corridor.Gateway.Observability;

/// <summary>
/// Collects the measurements of chosen meters through a <see cref="MeterListener"/> and writes them in the Prometheus
/// text exposition format (version 0.0.4) for <c>GET /metrics</c>. Counters and histograms are cumulative from the
/// gateway's start; observable instruments are read at each scrape. A measurement finds its series by a hash of its
/// tags (compared in full), or first by comparing them with the few series its instrument found last, so recording
/// allocates nothing once a series exists.
/// OpenTelemetry names become Prometheus names as the OpenTelemetry specification maps them: dots to underscores, the
/// unit as a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, annotations such as <c>{token}</c> dropped),
/// and <c>_total</c> after a counter's name.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentSeries> _instruments = new();
    private readonly Lock _scrapeGate = new();

    /// <param name="include">Which instruments to collect.</param>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument))
            {
                _instruments.TryAdd(instrument, new InstrumentSeries(instrument));
                listener.EnableMeasurementEvents(instrument, _instruments[instrument]);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out var _);
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.Start();
    }

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Reads the observable instruments and writes every series.</summary>
    public string Scrape()
    {
        lock (_scrapeGate)
        {
            _listener.RecordObservableInstruments();
            var text = new StringBuilder(4096);
            foreach (var series in _instruments.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.Write(text);
            }
            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private enum Kind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>One instrument's series, by tag set.</summary>
    private sealed class InstrumentSeries
    {
        private readonly ConcurrentDictionary<int, Series> _byHash = new();
        private readonly List<Series> _collisions = [];

        // The series found last, a few of them: one request records some instruments with more than one tag set (token
        // usage: input, then output), so a single remembered series would miss every time.
        private readonly Series?[] _recent = new Series?[RecentSeries];
        private int _nextRecent;
        private const int RecentSeries = 4;
        private readonly Kind _kind;
        private readonly bool _additive;
        private readonly double[]? _bounds;
        private readonly string? _help;

        public InstrumentSeries(Instrument instrument)
        {
            var type = instrument.GetType().GetGenericTypeDefinition();
            _kind = type == typeof(Histogram<>) ? Kind.Histogram
                : type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? Kind.Counter
                : Kind.Gauge;
            // Observable instruments report their current value, as does a gauge; counters report increments.
            _additive = type == typeof(Counter<>) || type == typeof(UpDownCounter<>);
            if (_kind == Kind.Histogram)
            {
                _bounds = instrument switch
                {
                    Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                    Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                    Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                    _ => null,
                } ?? [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
            }
            Name = PrometheusName(instrument.Name, instrument.Unit, _kind == Kind.Counter);
            _help = instrument.Description;
        }

        public string Name { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            if (_kind == Kind.Histogram)
            {
                series.Observe(value, _bounds!);
            }
            else if (_additive)
            {
                series.Add(value);
            }
            else
            {
                series.Set(value);
            }
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Most measurements repeat a recent tag set: comparing them (mostly the same string instances) is cheaper than
            // hashing every key and value.
            foreach (var recent in _recent)
            {
                if (recent is not null && recent.Matches(tags))
                {
                    return recent;
                }
            }
            var hash = Hash(tags);
            if (_byHash.TryGetValue(hash, out var found) && found.Matches(tags))
            {
                Remember(found);
                return found;
            }
            lock (_collisions)
            {
                if (_byHash.TryGetValue(hash, out found))
                {
                    if (found.Matches(tags))
                    {
                        return found;
                    }
                    foreach (var other in _collisions)
                    {
                        if (other.Matches(tags))
                        {
                            return other;
                        }
                    }
                    var collided = new Series(tags, _bounds);
                    _collisions.Add(collided);
                    return collided;
                }
                var created = new Series(tags, _bounds);
                _byHash[hash] = created;
                return created;
            }
        }

        /// <summary>
        /// Keeps a found series among the recent ones, replacing the oldest. Both event threads may do this at once: a
        /// lost or doubled entry costs only a hash later, and every entry is some series of this instrument.
        /// </summary>
        private void Remember(Series series)
        {
            var slot = (uint)_nextRecent % RecentSeries;
            _nextRecent = (int)slot + 1;
            Volatile.Write(ref _recent[slot], series);
        }

        private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var tag in tags)
            {
                hash.Add(tag.Key);
                hash.Add(tag.Value);
            }
            return hash.ToHashCode();
        }

        public void Write(StringBuilder text)
        {
            List<Series> all;
            lock (_collisions)
            {
                all = [.. _byHash.Values, .. _collisions];
            }
            if (all.Count == 0)
            {
                return;
            }
            if (!string.IsNullOrEmpty(_help))
            {
                text.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_help)).Append('\n');
            }
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_kind switch { Kind.Counter => "counter", Kind.Histogram => "histogram", _ => "gauge" }).Append('\n');
            all.Sort((a, b) => string.CompareOrdinal(a.Labels, b.Labels));
            foreach (var series in all)
            {
                if (_kind != Kind.Histogram)
                {
                    text.Append(Name).Append(Braced(series.Labels, null)).Append(' ').Append(Number(series.Value)).Append('\n');
                    continue;
                }
                var (counts, sum, count) = series.HistogramSnapshot();
                long cumulative = 0;
                for (var i = 0; i < _bounds!.Length; i++)
                {
                    cumulative += counts[i];
                    text.Append(Name).Append("_bucket").Append(Braced(series.Labels, Number(_bounds[i]))).Append(' ').Append(cumulative).Append('\n');
                }
                text.Append(Name).Append("_bucket").Append(Braced(series.Labels, "+Inf")).Append(' ').Append(count).Append('\n');
                text.Append(Name).Append("_sum").Append(Braced(series.Labels, null)).Append(' ').Append(Number(sum)).Append('\n');
                text.Append(Name).Append("_count").Append(Braced(series.Labels, null)).Append(' ').Append(count).Append('\n');
            }
        }

        private static string Braced(string labels, string? le) =>
            le is null ? (labels.Length == 0 ? "" : "{" + labels + "}")
            : "{" + labels + (labels.Length == 0 ? "" : ",") + "le=\"" + le + "\"}";
    }

    /// <summary>One tag set's value (counters, gauges) or buckets (histograms).</summary>
    private sealed class Series
    {
        private readonly KeyValuePair<string, object?>[] _tags;
        private readonly long[]? _buckets;
        private double _value;
        private long _count;

        public Series(ReadOnlySpan<KeyValuePair<string, object?>> tags, double[]? bounds)
        {
            _tags = tags.ToArray();
            _buckets = bounds is null ? null : new long[bounds.Length + 1];
            Labels = string.Join(",", _tags
                .OrderBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => LabelName(t.Key) + "=\"" + EscapeLabel(Convert.ToString(t.Value, CultureInfo.InvariantCulture) ?? "") + "\""));
        }

        /// <summary>The series' labels in exposition form, without braces.</summary>
        public string Labels { get; }

        public double Value => Volatile.Read(ref _value);

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _tags.Length)
            {
                return false;
            }
            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, _tags[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, _tags[i].Value))
                {
                    return false;
                }
            }
            return true;
        }

        public void Add(double value) => AddDouble(ref _value, value);

        public void Set(double value) => Volatile.Write(ref _value, value);

        public void Observe(double value, double[] bounds)
        {
            var bucket = 0;
            while (bucket < bounds.Length && value > bounds[bucket])
            {
                bucket++;
            }
            Interlocked.Increment(ref _buckets![bucket]);
            AddDouble(ref _value, value);
            Interlocked.Increment(ref _count);
        }

        /// <summary>Buckets, sum and count; a scrape racing a recording may see one of the three a measurement ahead.</summary>
        public (long[] Counts, double Sum, long Count) HistogramSnapshot()
        {
            var counts = new long[_buckets!.Length];
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = Interlocked.Read(ref _buckets[i]);
            }
            long count = 0;
            foreach (var c in counts)
            {
                count += c;
            }
            return (counts, Volatile.Read(ref _value), count);
        }

        private static void AddDouble(ref double target, double value)
        {
            var current = Volatile.Read(ref target);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref target, current + value, current);
                if (seen.Equals(current))
                {
                    return;
                }
                current = seen;
            }
        }
    }

    /// <summary>An OpenTelemetry instrument name and unit as a Prometheus metric name.</summary>
    internal static string PrometheusName(string name, string? unit, bool counter)
    {
        var result = new StringBuilder(name.Length + 16);
        foreach (var c in name)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':' ? c : '_');
        }
        var suffix = unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            "1" => counter ? null : "ratio",
            null or "" => null,
            _ when unit.StartsWith('{') => null,
            _ => new string([.. unit.Where(char.IsAsciiLetterOrDigit)]),
        };
        if (!string.IsNullOrEmpty(suffix) && !name.EndsWith("." + suffix, StringComparison.Ordinal))
        {
            result.Append('_').Append(suffix);
        }
        if (counter)
        {
            result.Append("_total");
        }
        return result.ToString();
    }

    private static string LabelName(string key)
    {
        var result = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }
        return result.ToString();
    }

    private static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
